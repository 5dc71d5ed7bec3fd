// A 200 MB region snapshots (generate, transfer, apply) in bounded memory. Runs the snapshot
// benchmark script in a fresh process, so the memory it reports is its own and nothing else's.
//
// Two views of "memory":
// - the process's anonymous memory (RssAnon: JS heap, buffers, LevelDB's memtables and caches:
//   everything the snapshot code could pile up) must stay under 150 MB;
// - total RSS also counts file-backed pages: the node binary (~40 MB) and LevelDB's memory-mapped
//   table files (LevelDB maps every table it reads, and generation reads the whole region). The
//   kernel reclaims those at will, which the second test shows: inside a memory cgroup limited
//   to 150 MiB (anonymous memory and page cache both charged), the whole run completes with no
//   OOM kill. It needs root and a cgroup v1 memory controller, and says so when it skips.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'snapshot.js');
const MEMCG_ROOT = '/sys/fs/cgroup/memory';

interface BenchResult {
  records: number;
  recordsApplied: number;
  fileMb: number;
  peakRssMb: number;
  peakAnonMb: number;
}

function parse(stdout: string): BenchResult {
  return JSON.parse(stdout.trim().split('\n').pop()!) as BenchResult;
}

function checkComplete(r: BenchResult): void {
  assert.equal(r.recordsApplied, r.records, 'records lost between generate and apply');
  assert.ok(r.fileMb >= 190, `the snapshot files hold only ${r.fileMb} MB: the region was not 200 MB`);
}

test('a 200 MB region snapshots with peak memory (anonymous RSS) under 150 MB', { timeout: 300_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--mb', '200', '--json'], { maxBuffer: 1 << 20 });
  const r = parse(stdout);
  console.log(`200 MB snapshot: ${JSON.stringify(r)}`);
  checkComplete(r);
  assert.ok(r.peakAnonMb < 150, `peak anonymous RSS ${r.peakAnonMb} MB during generate/transfer/apply (total RSS ${r.peakRssMb} MB)`);
});

function memcgUsable(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync(join(MEMCG_ROOT, 'memory.limit_in_bytes'))) return `no cgroup v1 memory controller at ${MEMCG_ROOT}`;
  return null;
}

const why = memcgUsable();
test('a 200 MB region snapshots inside a 150 MiB memory cgroup without being OOM-killed', {
  timeout: 300_000,
  skip: why ?? false,
}, async () => {
  const cg = join(MEMCG_ROOT, `tskv-snap-${process.pid}`);
  mkdirSync(cg);
  try {
    writeFileSync(join(cg, 'memory.limit_in_bytes'), String(150 * 1024 * 1024));
    // The shell joins the cgroup, then becomes the benchmark (its load child inherits it too).
    const cmd = `echo $$ > ${cg}/cgroup.procs && exec "${process.execPath}" "${script}" --mb 200 --json`;
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', cmd], { maxBuffer: 1 << 20 });
    const r = parse(stdout);
    const oom = readFileSync(join(cg, 'memory.oom_control'), 'utf8');
    const kills = Number(/oom_kill (\d+)/.exec(oom)?.[1] ?? 0);
    const maxUsage = Number(readFileSync(join(cg, 'memory.max_usage_in_bytes'), 'utf8'));
    console.log(
      `200 MB snapshot under a 150 MiB cgroup: ${JSON.stringify(r)}, cgroup max usage ${Math.round(maxUsage / 2 ** 20)} MiB, ` +
        `oom kills ${kills}`,
    );
    checkComplete(r);
    assert.equal(kills, 0, 'the snapshot was OOM-killed under the limit');
  } finally {
    rmdirSync(cg);
  }
});
