// The tinykv-server command as a child process: the ready line with the bound addresses, the
// status server, a graceful exit 0 on SIGTERM; bad flags and config files exit 2 naming the problem.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeScheduler } from './fake_scheduler.js';
import { tempDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../../cli/tinykv-server.mjs', import.meta.url));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], onLine?: (line: string, kill: (sig: NodeJS.Signals) => void) => void, timeoutMs = 30_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    });
    let stdout = '';
    let stderr = '';
    let buf = '';
    const timer = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`timed out; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    p.stdout.on('data', (d: Buffer) => {
      stdout += d;
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        onLine?.(line, (sig) => p.kill(sig));
      }
    });
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

test('tinykv-server prints one ready line with the bound addresses, serves /status, and exits 0 on SIGTERM', async () => {
  const fake = await FakeScheduler.start({ maxReplicas: 1 });
  const tmp = tempDir();
  const cfg = join(tmp.dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ raftBaseTickMs: 50, schedulerHeartbeatTickMs: 200, shutdownGraceMs: 1000 }));
  try {
    let status: { storeId: number; regions: unknown[] } | null = null;
    let ready: { event: string; storeId: number; addr: string; statusAddr: string } | null = null;
    const r = await run(
      [
        '--addr',
        '127.0.0.1:0',
        '--status-addr',
        '127.0.0.1:0',
        '--scheduler',
        fake.addr,
        '--data-dir',
        join(tmp.dir, 'store'),
        '--config',
        cfg,
        '--log-file',
        join(tmp.dir, 'log.json'),
      ],
      (line, kill) => {
        ready = JSON.parse(line);
        void (async () => {
          const res = await fetch(`http://${ready!.statusAddr}/status`);
          status = (await res.json()) as typeof status;
          kill('SIGTERM');
        })().catch(() => kill('SIGKILL'));
      },
    );
    assert.equal(r.code, 0, `exit code (stderr: ${r.stderr})`);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'exactly one line on stdout');
    const rd = ready!;
    assert.equal(rd.event, 'ready');
    assert.ok(rd.storeId > 0);
    assert.match(rd.addr, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(rd.addr, '127.0.0.1:0');
    assert.match(rd.statusAddr, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(Object.keys(rd), ['event', 'storeId', 'addr', 'statusAddr']);
    assert.equal(status!.storeId, rd.storeId);
    assert.equal(status!.regions.length, 1, 'it bootstrapped the cluster');
    assert.equal(fake.stores.get(rd.storeId)!.store.address, rd.addr);
    assert.equal(fake.stores.get(rd.storeId)!.store.statusAddress, rd.statusAddr);

    // Restarted on the same data directory: the same store id.
    let again = 0;
    const r2 = await run(
      [
        '--addr',
        '127.0.0.1:0',
        '--status-addr',
        '127.0.0.1:0',
        '--scheduler',
        fake.addr,
        '--data-dir',
        join(tmp.dir, 'store'),
        '--log-level',
        'warn',
      ],
      (line, kill) => {
        again = JSON.parse(line).storeId;
        kill('SIGINT');
      },
    );
    assert.equal(r2.code, 0);
    assert.equal(again, rd.storeId);
  } finally {
    fake.stop();
    tmp.cleanup();
  }
});

test('bad flags and bad config files exit 2 with a clear message', async () => {
  const tmp = tempDir();
  try {
    const unknownFlag = await run(['--nope']);
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /unknown option '--nope'/);
    const badAddr = await run(['--addr', 'localhost']);
    assert.equal(badAddr.code, 2);
    assert.match(badAddr.stderr, /bad --addr 'localhost'/);
    const badLevel = await run(['--log-level', 'loud']);
    assert.equal(badLevel.code, 2);
    assert.match(badLevel.stderr, /loud/);

    const cfg = join(tmp.dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ raftBaseTickMs: 50, raftElectionTickz: 10 }));
    const unknownKey = await run(['--config', cfg]);
    assert.equal(unknownKey.code, 2);
    assert.match(unknownKey.stderr, /unknown key 'raftElectionTickz'/);
    writeFileSync(cfg, JSON.stringify({ storeId: 3 }));
    assert.match((await run(['--config', cfg])).stderr, /'storeId' cannot be configured/);
    writeFileSync(cfg, JSON.stringify({ raftBaseTickMs: 'fast' }));
    const wrongType = await run(['--config', cfg]);
    assert.equal(wrongType.code, 2);
    assert.match(wrongType.stderr, /'raftBaseTickMs' must be a number/);
    writeFileSync(cfg, '{ not json');
    assert.equal((await run(['--config', cfg])).code, 2);
    assert.equal((await run(['--config', join(tmp.dir, 'missing.json')])).code, 2);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--data-dir/);
  } finally {
    tmp.cleanup();
  }
});
