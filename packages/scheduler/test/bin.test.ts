// The tinykv-scheduler command as a real child process.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PdClient } from '@tskv/rpc';
import { tempDir } from './helpers.js';

const CLI = fileURLToPath(new URL('../../cli/tinykv-scheduler.mjs', import.meta.url));

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

async function ready(r: Run, timeoutMs = 20_000): Promise<{ event: string; addr: string; statusAddr: string; clusterId: number }> {
  const deadline = Date.now() + timeoutMs;
  while (!r.stdout().includes('\n')) {
    if (r.child.exitCode !== null) throw new Error(`exited early (${r.child.exitCode}): ${r.stderr()}`);
    if (Date.now() > deadline) throw new Error(`no ready line: ${r.stderr()}`);
    await new Promise((res) => setTimeout(res, 25));
  }
  return JSON.parse(r.stdout().split('\n')[0]!);
}

test(
  'tinykv-scheduler: prints one ready line with the bound addresses, serves, exits 0 on SIGTERM with streams open, ' +
    'keeps its cluster id',
  async (t) => {
    const dir = await tempDir(t);
    const args = ['--addr', '127.0.0.1:0', '--status-addr', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--log-level', 'error'];
    const r = run(args);
    t.after(() => {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
    });
    const line = await ready(r);
    assert.deepEqual(Object.keys(line), ['event', 'addr', 'statusAddr', 'clusterId']);
    assert.equal(line.event, 'ready');
    assert.match(line.addr, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(line.addr, '127.0.0.1:0', 'the actual port');
    assert.ok(line.clusterId > 0);
    const pd = new PdClient(line.addr, { timeoutMs: 5000 });
    assert.ok((await pd.allocId()) > 0);
    await pd.tso(); // leaves the tso stream open
    pd.regionHeartbeat({ region: { id: 1 }, leader: { id: 1, storeId: 1 } }); // and a heartbeat stream
    const status = (await (await fetch(`http://${line.statusAddr}/status`)).json()) as { clusterId: number };
    assert.equal(status.clusterId, line.clusterId);
    r.child.kill('SIGTERM');
    assert.equal(await r.exit, 0, r.stderr());
    pd.close();
    assert.equal(r.stdout().trim().split('\n').length, 1, 'exactly one line on stdout');

    const again = run(args);
    t.after(() => {
      if (again.child.exitCode === null) again.child.kill('SIGKILL');
    });
    assert.equal((await ready(again)).clusterId, line.clusterId, 'the cluster id is kept in the data dir');
    again.child.kill('SIGINT');
    assert.equal(await again.exit, 0);
  },
);

test('tinykv-scheduler: bad flags and bad config files exit 2 with a message naming the problem', async (t) => {
  const dir = await tempDir(t);
  const bogus = run(['--bogus']);
  assert.equal(await bogus.exit, 2);
  assert.match(bogus.stderr(), /--bogus/);

  const addr = run(['--addr', 'nowhere', '--data-dir', dir]);
  assert.equal(await addr.exit, 2);
  assert.match(addr.stderr(), /nowhere/);

  const level = run(['--log-level', 'loud', '--data-dir', dir]);
  assert.equal(await level.exit, 2);
  assert.match(level.stderr(), /loud/);

  const cfg = join(dir, 'cfg.json');
  await writeFile(cfg, JSON.stringify({ maxReplicas: 3, maxReplica: 5 }));
  const unknown = run(['--config', cfg, '--data-dir', dir, '--addr', '127.0.0.1:0', '--status-addr', '127.0.0.1:0']);
  assert.equal(await unknown.exit, 2);
  assert.match(unknown.stderr(), /unknown config key "maxReplica"/);
  assert.equal(unknown.stdout(), '', 'no ready line');

  await writeFile(cfg, '{ not json');
  const broken = run(['--config', cfg, '--data-dir', dir]);
  assert.equal(await broken.exit, 2);
  assert.match(broken.stderr(), /not valid JSON/);
});
