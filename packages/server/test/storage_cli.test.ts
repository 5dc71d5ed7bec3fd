// The tinykv-server process on damaged or full storage, as an operator sees it:
// - a record damaged on disk found at start: exit 1, stderr naming the region, the key and what
//   is wrong (the store does not start on a state it cannot trust);
// - a disk that fills while serving: writes fail, the process exits 3 naming the error, and the
//   same command restarted once space is back serves every write it acknowledged.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Engines, raftStateKey } from '@tskv/engine';
import type { kvrpcpb } from '@tskv/proto';
import { newTinyKvGrpcClient } from '@tskv/rpc';
import { FakeScheduler } from './fake_scheduler.js';
import { call, enc, tempDir } from './helpers.js';

const BIN = fileURLToPath(new URL('../../cli/tinykv-server.mjs', import.meta.url));

interface Run {
  code: number | null;
  stderr: string;
  child: ChildProcess;
  exited: Promise<void>;
  ready: Promise<{ storeId: number; addr: string }>;
}

/** Starts the command; `ready` resolves with its ready line, `exited` when it exits. */
function start(dataDir: string, fake: FakeScheduler): Run {
  const child = spawn(
    process.execPath,
    [BIN, '--addr', '127.0.0.1:0', '--status-addr', '', '--scheduler', fake.addr, '--data-dir', dataDir, '--log-level', 'error'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    },
  );
  const r = { code: null, stderr: '', child } as Run;
  child.stderr!.on('data', (d: Buffer) => (r.stderr += d));
  r.ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const i = out.indexOf('\n');
      if (i >= 0) resolve(JSON.parse(out.slice(0, i)));
    });
    child.on('exit', () => reject(new Error(`exited before ready: ${r.stderr}`)));
  });
  r.ready.catch(() => undefined);
  r.exited = new Promise((resolve) =>
    child.on('exit', (code) => {
      r.code = code;
      resolve();
    }),
  );
  return r;
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)));
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

test('tinykv-server refuses to start on a damaged raft state, exit 1, naming region, key and problem; an intact directory starts', {
  timeout: 60_000,
}, async () => {
  const fake = await FakeScheduler.start({ maxReplicas: 1 });
  const tmp = tempDir();
  const dir = join(tmp.dir, 'store');
  try {
    const first = start(dir, fake);
    await within(first.ready, 20_000, 'first start');
    first.child.kill('SIGTERM');
    await first.exited;
    assert.equal(first.code, 0, first.stderr);
    const regionId = Number(fake.firstRegion()!.id);

    const again = start(dir, fake); // intact: starts
    await within(again.ready, 20_000, 'restart of an intact directory');
    again.child.kill('SIGTERM');
    await again.exited;
    assert.equal(again.code, 0, again.stderr);

    const e = await Engines.open(dir);
    await e.raft.write(e.raft.writeBatch().put('raft', raftStateKey(regionId), Buffer.from('garbage\xff\xff', 'latin1')));
    await e.close();
    const bad = start(dir, fake);
    await within(bad.exited, 20_000, 'start on damaged data');
    assert.equal(bad.code, 1, `exit code (stderr: ${bad.stderr})`);
    const key = `72${Buffer.from(raftStateKey(regionId)).toString('hex')}`;
    assert.match(
      bad.stderr,
      new RegExp(`tinykv-server: startup failed: region ${regionId}: raft state \\(raft engine, key ${key}\\): undecodable`),
    );
  } finally {
    fake.stop();
    tmp.cleanup();
  }
});

const mnt = mkdtempSync(join(tmpdir(), 'tskv-cli-diskfull-'));
let mountError: string | null = null;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'pipe' });
} catch (e) {
  mountError = `cannot mount a 16 MiB tmpfs (needs root or CAP_SYS_ADMIN): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  rmdirSync(mnt);
}

test('tinykv-server on a disk that fills: writes fail, it exits 3 naming the error, and restarted once space is back it serves ' +
  'every acknowledged write', {
  timeout: 120_000,
  skip: mountError ?? false,
}, async (t) => {
  t.after(() => {
    execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    rmdirSync(mnt);
  });
  const fake = await FakeScheduler.start({ maxReplicas: 1 });
  const dir = join(mnt, 'store');
  const filler = join(mnt, 'filler');
  const procs: Run[] = [];
  try {
    const p = start(dir, fake);
    procs.push(p);
    const { addr } = await within(p.ready, 20_000, 'start');
    const region = fake.firstRegion()!;
    const context = { regionId: Number(region.id), regionEpoch: region.regionEpoch, peer: region.peers[0] };
    const client = newTinyKvGrpcClient(addr);
    const acked = new Map<string, string>();
    const put = async (k: string, v: string): Promise<boolean> => {
      try {
        const r = await call<kvrpcpb.RawPutResponse>(client, 'rawPut', { context, key: enc(k), value: enc(v) }, 5000);
        if (r.regionError || r.error) return false;
        acked.set(k, v);
        return true;
      } catch {
        return false; // the process went away mid-call: not acknowledged
      }
    };
    const big = 'y'.repeat(1024);
    for (let i = 0; i < 20; i++) {
      const deadline = Date.now() + 10_000;
      while (!(await put(`before${i}`, `${i}:${big}`))) {
        assert.ok(Date.now() < deadline, 'no write accepted with free space');
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // Fill the file system, then keep writing until the process exits.
    const fd = openSync(filler, 'w');
    try {
      for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
        const buf = Buffer.alloc(size, 0x5a);
        for (;;) {
          try {
            writeSync(fd, buf);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
            break;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
    let exited = false;
    void p.exited.then(() => (exited = true));
    for (let i = 0; i < 500 && !exited; i++) await put(`full${i}`, `${i}:${big}`);
    await within(p.exited, 20_000, 'the process to exit on the full disk');
    client.close();
    assert.equal(p.code, 3, `exit code (stderr: ${p.stderr})`);
    assert.match(p.stderr, /tinykv-server: fatal storage error, exiting for a restart: .*No space left on device/);

    // Space back: the supervisor's restart serves every acknowledged write.
    rmSync(filler);
    const back = start(dir, fake);
    procs.push(back);
    const r2 = await within(back.ready, 20_000, 'restart after space came back');
    const c2 = newTinyKvGrpcClient(r2.addr);
    try {
      const deadline = Date.now() + 20_000;
      for (const [k, v] of acked) {
        for (;;) {
          const r = await call<kvrpcpb.RawGetResponse>(c2, 'rawGet', { context, key: enc(k) }, 5000).catch(() => null);
          if (r && !r.regionError && !r.error) {
            assert.equal(Buffer.from(r.value ?? []).toString(), v, `${k} after the restart`);
            break;
          }
          assert.ok(Date.now() < deadline, `no answer for ${k}: ${JSON.stringify(r)}`);
          await new Promise((res) => setTimeout(res, 100));
        }
      }
      const r = await call<kvrpcpb.RawPutResponse>(c2, 'rawPut', { context, key: enc('after'), value: enc('space') }, 5000);
      assert.ok(!r.regionError && !r.error, JSON.stringify(r));
    } finally {
      c2.close();
    }
    t.diagnostic(`${acked.size} acknowledged writes readable after the restart`);
  } finally {
    for (const pr of procs) {
      if (pr.code === null && pr.child.exitCode === null) {
        pr.child.kill('SIGKILL');
        await pr.exited;
      }
    }
    fake.stop();
    rmSync(filler, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
