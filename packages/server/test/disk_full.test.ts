// A full disk: every store of an in-process cluster keeps its data directory on one
// small tmpfs; a filler file takes the rest of it while clients keep writing. Writes must fail
// with an error (no hang, no crash of the process, no ok for a write that is not durable); a
// store whose raft or kv write failed reports a fatal error and refuses everything. Once space
// is back, a supervisor restarts the failed stores from their data directories (what
// tinykv-server's exit code 3 asks of systemd or Kubernetes), and every write acknowledged
// before, during and after is readable.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { kvrpcpb } from '@tskv/proto';
import type { TinyKvServer } from '../src/index.js';
import { FakeScheduler } from './fake_scheduler.js';
import { Clients, call, ctxOf, enc, leaderOf, startServer, waitFor } from './helpers.js';

const mnt = mkdtempSync(join(tmpdir(), 'tskv-diskfull-'));
let mounted = false;
let skip: string | false = false;

before(() => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mnt], { stdio: 'pipe' });
    mounted = true;
  } catch (e) {
    skip = `cannot mount a 16 MiB tmpfs (needs root or CAP_SYS_ADMIN): ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}`;
  }
});

after(() => {
  if (mounted) execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
  rmdirSync(mnt);
});

/** Fills the file system holding `path` with one file, until the kernel says ENOSPC. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const buf = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          bytes += writeSync(fd, buf);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

test('a full disk: writes fail fast with an error, the failed stores recover by a restart once space is back, nothing ' +
  'acknowledged is lost', {
  timeout: 180_000,
}, async (t) => {
  if (skip) return t.skip(skip);
  const fake = await FakeScheduler.start({ maxReplicas: 3 });
  const clients = new Clients();
  const dirs = [0, 1, 2].map((i) => join(mnt, `s${i}`));
  const fatal: { store: number; err: string }[] = [];
  const opts = (i: number) => ({ onFatal: (e: Error) => void fatal.push({ store: i, err: e.message }) });
  const servers: TinyKvServer[] = await Promise.all(dirs.map((d, i) => startServer(fake, d, opts(i))));
  const acked = new Map<string, string>();
  const big = 'x'.repeat(1024);
  /** One attempt through the current leader; the outcome, and how long the answer took. */
  const putOnce = async (key: string, value: string): Promise<{ ok: boolean; ms: number; why: string }> => {
    const t0 = Date.now();
    const s = leaderOf(servers, regionId);
    if (!s) return { ok: false, ms: 0, why: 'no leader' };
    try {
      const r = await call<kvrpcpb.RawPutResponse>(
        clients.get(s.addr),
        'rawPut',
        { context: ctxOf(s, regionId), key: enc(key), value: enc(value) },
        10_000,
      );
      const ok = !r.regionError && !r.error;
      if (ok) acked.set(key, value);
      return { ok, ms: Date.now() - t0, why: ok ? '' : r.error || JSON.stringify(r.regionError) };
    } catch (e) {
      return { ok: false, ms: Date.now() - t0, why: String(e) };
    }
  };
  let regionId = 0;
  try {
    regionId = Number(fake.firstRegion()!.id);
    await waitFor(
      'a leader with 3 peers',
      () => {
        const l = leaderOf(servers, regionId);
        return !!l && (l.store.regionStatus().find((r) => r.regionId === regionId)!.region.peers ?? []).length === 3;
      },
      30_000,
    );
    for (let i = 0; i < 30; i++) {
      const r = await putOnce(`before${i}`, `${i}:${big}`);
      assert.ok(r.ok, `a write with free space failed: ${r.why}`);
    }

    const filled = fill(join(mnt, 'filler'));
    assert.ok(filled > 1 << 20, `filler of ${filled} bytes`);
    // Keep writing: some writes may still fit in pages LevelDB already holds; then errors, each
    // answered within the request timeout (3 s) plus slack, never an ok that is not durable.
    let errors = 0;
    let okDuringFull = 0;
    const reasons = new Set<string>();
    for (let i = 0; i < 400 && errors < 15; i++) {
      const r = await putOnce(`full${i}`, `${i}:${big}`);
      assert.ok(r.ms < 6000, `a write hung for ${r.ms} ms (${r.why})`);
      if (r.ok) okDuringFull++;
      else {
        errors++;
        reasons.add(r.why.replace(/\d+/g, 'N').slice(0, 160));
        if (r.why === 'no leader') await new Promise((res) => setTimeout(res, 100));
      }
    }
    assert.ok(errors >= 15, `writes kept succeeding on a full disk (${okDuringFull} ok)`);
    await waitFor('a store reported the fatal storage error', () => fatal.length > 0, 10_000);
    assert.match(fatal[0]!.err, /No space left on device|ENOSPC/, JSON.stringify(fatal));
    const failed = servers.map((s, i) => (s.store.failed ? i : -1)).filter((i) => i >= 0);
    assert.ok(failed.length >= 1, 'no store stopped on its failed write');
    // A failed store refuses at once, naming why, instead of timing out.
    // (The refusal's message, not a timeout's, shows it did not wait for the request timeout.)
    const f = servers[failed[0]!]!;
    const resp = await call<kvrpcpb.RawPutResponse>(clients.get(f.addr), 'rawPut', {
      context: ctxOf(f, regionId),
      key: enc('refused'),
      value: enc('v'),
    });
    assert.ok(resp.regionError || resp.error, 'a failed store acknowledged a write');
    assert.match(JSON.stringify(resp), /failed and needs a restart/);
    assert.doesNotMatch(JSON.stringify(resp), /timed out/);
    t.diagnostic(
      `filler ${filled} bytes; ${okDuringFull} ok then ${errors} errors while full; failed stores ${failed.join(',')}; errors: ` +
        `${[...reasons].join(' | ')}`,
    );

    // Space is back. The supervisor restarts every store that failed, now and later (a store
    // whose LevelDB latched an error in the background fails on its next write).
    rmSync(join(mnt, 'filler'));
    const restarts: number[] = [];
    let supervising = true;
    const supervisor = (async () => {
      while (supervising) {
        for (let i = 0; i < servers.length; i++) {
          if (!servers[i]!.store.failed) continue;
          await servers[i]!.stop();
          servers[i] = await startServer(fake, dirs[i]!, opts(i));
          restarts.push(i);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    try {
      await waitFor('the failed stores restarted', () => failed.every((i) => restarts.includes(i)), 30_000);
      for (let i = 0; i < 20; i++) {
        const key = `after${i}`;
        await waitFor(`write ${key} accepted`, async () => (await putOnce(key, `${i}:${big}`)).ok, 30_000, 100);
      }
      // Every acknowledged write, before, during and after the full disk, on every store.
      const want = [...acked];
      assert.ok(want.length >= 50, `${want.length} acknowledged writes`);
      for (const [i, s] of servers.entries()) {
        await waitFor(
          `store ${i} has every acknowledged write`,
          async () => {
            const s2 = servers[i]!;
            for (const [k, v] of want) if (Buffer.from((await s2.engines.kv.get('default', enc(k))) ?? []).toString() !== v) return false;
            return true;
          },
          30_000,
          200,
        );
        void s;
      }
    } finally {
      supervising = false;
      await supervisor;
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop().catch(() => undefined)));
    clients.close();
    fake.stop();
    rmSync(join(mnt, 'filler'), { force: true });
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
});
