import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuSampler, cpuPercent, parseProcStat, readCpuTimes } from '../src/cpu.js';

const stat = (comm: string, utime: number, stime: number): string =>
  `1234 (${comm}) S 1 1234 1234 0 -1 4194560 2000 0 0 0 ${utime} ${stime} 0 0 20 0 11 0 5000 1000000 20000 18446744073709551615 ` +
  `1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0`;

test('parseProcStat reads utime and stime, even with spaces and parens in the name', () => {
  assert.deepEqual(parseProcStat(stat('node', 150, 25)), { utime: 150, stime: 25 });
  assert.deepEqual(parseProcStat(stat('weird ) name (x', 7, 3)), { utime: 7, stime: 3 });
  assert.throws(() => parseProcStat('garbage'));
});

test('cpuPercent: ticks over wall time, as % of one core', () => {
  // 150 ticks at 100 Hz = 1.5 s of CPU over 1 s: 150%.
  assert.equal(cpuPercent({ utime: 100, stime: 50 }, { utime: 200, stime: 100 }, 100, 1000), 150);
  // 25 ticks over 10 s: 2.5%.
  assert.equal(cpuPercent({ utime: 0, stime: 0 }, { utime: 20, stime: 5 }, 100, 10_000), 2.5);
  assert.equal(cpuPercent({ utime: 5, stime: 5 }, { utime: 5, stime: 5 }, 100, 500), 0);
  assert.ok(Number.isNaN(cpuPercent({ utime: 0, stime: 0 }, { utime: 1, stime: 0 }, 100, 0)));
});

test('CpuSampler: per process, null when a process cannot be read', () => {
  let now = 0;
  const ticks = new Map<number, number>([
    [1, 0],
    [2, 1000],
  ]);
  const s = new CpuSampler(
    [
      { name: 'a', pid: 1 },
      { name: 'b', pid: 2 },
      { name: 'gone', pid: 3 },
    ],
    () => now,
    (pid) => (ticks.has(pid) ? { utime: ticks.get(pid)!, stime: 0 } : null),
    100,
  );
  s.start();
  now = 2000;
  ticks.set(1, 100); // 1 s of CPU in 2 s
  ticks.set(2, 1000 + 333); // 3.33 s in 2 s
  assert.deepEqual(s.stop(), { a: 50, b: 166.5, gone: null });
});

test('readCpuTimes of this process grows with work', () => {
  const a = readCpuTimes(process.pid);
  assert.ok(a);
  const t = Date.now();
  while (Date.now() - t < 60) Math.sqrt(Math.random());
  const b = readCpuTimes(process.pid)!;
  assert.ok(b.utime + b.stime >= a.utime + a.stime);
  assert.equal(readCpuTimes(2 ** 30), null);
});
