// A store whose region records are damaged on disk refuses to start, naming the region, the
// engine, the key (hex) and what is wrong; an intact store opens. Each case writes a store's data
// through a running store, stops it, damages a copy of its directory with the engine API and
// reopens that copy.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyStateKey, Engines, raftLogKey, raftStateKey, regionStateKey } from '@tskv/engine';
import { type metapb, raft_cmdpb, raft_serverpb } from '@tskv/proto';
import { bootstrapRegion, bootstrapStore, Store, storeConfig } from '../src/index.js';
import { StorageCorruptionError } from '../src/storage_check.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array());
const GARBAGE = Uint8Array.from([0x67, 0x61, 0x72, 0x62, 0x61, 0x67, 0x65, 0xff, 0xff]); // "garbage": field 12, wire type 7
const hex = (k: Uint8Array): string => `72${Buffer.from(k).toString('hex')}`; // CF raft's prefix byte, then the key

const REGION: metapb.IRegion = {
  id: 1,
  startKey: new Uint8Array(0),
  endKey: new Uint8Array(0),
  regionEpoch: { confVer: 1, version: 1 },
  peers: [{ id: 101, storeId: 1 }],
};
const transport = { send: (): void => undefined };
const scheduler = { regionHeartbeat: (): undefined => undefined };
const cfg = storeConfig({ storeId: 1, raftBaseTickMs: 20, requestTimeoutMs: 3000 });

async function openStore(dir: string): Promise<{ e: Engines; s: Store }> {
  const e = await Engines.open(dir);
  try {
    return { e, s: await Store.create(cfg, e, transport, scheduler) };
  } catch (err) {
    await e.close();
    throw err;
  }
}

interface Written {
  dir: string;
  truncated: number;
  last: number;
  applied: number;
}

/** A one-store region with 12 acknowledged puts; the store is stopped and its engines closed. */
async function writeStore(root: string): Promise<Written> {
  const dir = join(root, 'orig');
  const e0 = await Engines.open(dir);
  await bootstrapStore(e0, 1, 1);
  await bootstrapRegion(e0, REGION);
  await e0.close();
  const { e, s } = await openStore(dir);
  s.start();
  const deadline = Date.now() + 20_000;
  while (!s.peer(1)?.isLeader()) {
    if (Date.now() > deadline) throw new Error('the single-store region elected no leader within 20 s');
    await new Promise((r) => setTimeout(r, 10));
  }
  for (let i = 0; i < 12; i++) {
    const r = await s.call({
      header: { regionId: 1, regionEpoch: REGION.regionEpoch },
      requests: [{ cmdType: raft_cmdpb.CmdType.Put, put: { cf: 'default', key: enc(`k${i}`), value: enc(`v${i}`) } }],
    });
    assert.equal(r.header?.error ?? null, null, JSON.stringify(r.header?.error));
  }
  const ps = s.peer(1)!.storage;
  const w = { dir, truncated: ps.applyState.truncatedIndex, last: ps.raftState.lastIndex, applied: ps.applyState.appliedIndex };
  await s.stop();
  await e.close();
  assert.ok(w.last - w.truncated >= 10, `a log to damage: ${JSON.stringify(w)}`);
  return w;
}

/** Copies the store, damages the copy with `damage`, and returns what reopening it threw. */
async function reopenDamaged(
  root: string,
  w: Written,
  name: string,
  damage: (e: Engines) => Promise<void>,
): Promise<StorageCorruptionError> {
  const dir = join(root, name);
  cpSync(w.dir, dir, { recursive: true });
  const e = await Engines.open(dir);
  await damage(e);
  await e.close();
  let thrown: unknown = null;
  try {
    const { e: e2, s } = await openStore(dir);
    await s.stop();
    await e2.close();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof StorageCorruptionError, `${name}: expected StorageCorruptionError, got ${String(thrown)}`);
  assert.equal(thrown.regionId, 1);
  return thrown;
}

const put = (e: Engines, engine: 'kv' | 'raft', key: Uint8Array, value: Uint8Array): Promise<void> =>
  e[engine].write(e[engine].writeBatch().put('raft', key, value));
const del = (e: Engines, engine: 'kv' | 'raft', key: Uint8Array): Promise<void> =>
  e[engine].write(e[engine].writeBatch().delete('raft', key));
const raftState = (w: Written, over: { commit?: number; lastIndex?: number; lastTerm?: number }): Uint8Array =>
  raft_serverpb.RaftLocalState.encode({
    hardState: { term: 6, vote: 101, commit: over.commit ?? w.applied },
    lastIndex: over.lastIndex ?? w.last,
    lastTerm: over.lastTerm ?? 6,
  }).finish();

test('startup validation: damaged or contradicting region records refuse the start, naming region, key and problem', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tskv-storage-check-'));
  try {
    const w = await writeStore(root);

    // Intact: it opens, with its data and log.
    {
      const dir = join(root, 'intact');
      cpSync(w.dir, dir, { recursive: true });
      const { e, s } = await openStore(dir);
      assert.equal(s.peer(1)!.storage.lastIndex(), w.last);
      assert.equal(dec(await e.kv.get('default', enc('k11'))), 'v11');
      await s.stop();
      await e.close();
    }

    const rs = raftStateKey(1);
    let err = await reopenDamaged(root, w, 'raft-state-garbage', (e) => put(e, 'raft', rs, GARBAGE));
    assert.match(err.message, new RegExp(`^region 1: raft state \\(raft engine, key ${hex(rs)}\\): undecodable \\(9 bytes\\)`));
    assert.equal(err.keyHex, hex(rs));

    err = await reopenDamaged(root, w, 'raft-state-beyond-log', (e) => put(e, 'raft', rs, raftState(w, { lastIndex: w.last + 5 })));
    assert.match(
      err.message,
      new RegExp(
        `^region 1: raft log entry ${w.last + 1} \\(raft engine, key ${hex(raftLogKey(1, w.last + 1))}\\): missing: ` +
          `the log ends at ${w.last} but the raft state says last index ${w.last + 5}`,
      ),
    );

    err = await reopenDamaged(root, w, 'commit-beyond-last', (e) => put(e, 'raft', rs, raftState(w, { commit: w.last + 3 })));
    assert.match(
      err.message,
      new RegExp(`^region 1: raft state \\(raft engine, key ${hex(rs)}\\): commit index ${w.last + 3} beyond last index ${w.last}`),
    );

    err = await reopenDamaged(root, w, 'last-term-mismatch', (e) => put(e, 'raft', rs, raftState(w, { lastTerm: 9 })));
    assert.match(err.message, new RegExp(`raft log entry ${w.last} .*: term 6, but the raft state says last term 9`));

    const mid = w.truncated + 4;
    err = await reopenDamaged(root, w, 'hole', (e) => del(e, 'raft', raftLogKey(1, mid)));
    assert.match(
      err.message,
      new RegExp(
        `^region 1: raft log entry ${mid} \\(raft engine, key ${hex(raftLogKey(1, mid))}\\): missing: ` +
          `a hole in the log between the truncated index ${w.truncated} and the last index ${w.last}`,
      ),
    );

    err = await reopenDamaged(root, w, 'last-entry-lost', (e) => del(e, 'raft', raftLogKey(1, w.last)));
    assert.match(
      err.message,
      new RegExp(`raft log entry ${w.last} .*: missing: the log ends at ${w.last - 1} but the raft state says last index ${w.last}`),
    );

    err = await reopenDamaged(root, w, 'last-entry-garbage', (e) => put(e, 'raft', raftLogKey(1, w.last), GARBAGE));
    assert.match(
      err.message,
      new RegExp(`^region 1: raft log entry ${w.last} \\(raft engine, key ${hex(raftLogKey(1, w.last))}\\): undecodable`),
    );

    err = await reopenDamaged(root, w, 'first-entry-garbage', (e) => put(e, 'raft', raftLogKey(1, w.truncated + 1), GARBAGE));
    assert.match(err.message, new RegExp(`raft log entry ${w.truncated + 1} .*: undecodable`));

    // A valid entry under the wrong key (e.g. a misdirected write) is caught by its index.
    err = await reopenDamaged(root, w, 'entry-wrong-index', async (e) =>
      put(e, 'raft', raftLogKey(1, w.last), e.raft.getSync('raft', raftLogKey(1, w.last - 1))!),
    );
    assert.match(err.message, new RegExp(`raft log entry ${w.last} .*: holds index ${w.last - 1}`));

    const as = applyStateKey(1);
    err = await reopenDamaged(root, w, 'apply-state-garbage', (e) => put(e, 'kv', as, GARBAGE));
    assert.match(err.message, new RegExp(`^region 1: apply state \\(kv engine, key ${hex(as)}\\): undecodable`));

    err = await reopenDamaged(root, w, 'apply-state-missing', (e) => del(e, 'kv', as));
    assert.match(err.message, /apply state \(kv engine, key .*\): missing/);

    const applyState = (applied: number, truncated: number): Uint8Array =>
      raft_serverpb.RaftApplyState.encode({ appliedIndex: applied, truncatedState: { index: truncated, term: 5 } }).finish();
    err = await reopenDamaged(root, w, 'applied-beyond-last', (e) => put(e, 'kv', as, applyState(w.last + 2, w.truncated)));
    assert.match(err.message, new RegExp(`raft state .*: last index ${w.last} below the applied index ${w.last + 2} of the apply state`));

    err = await reopenDamaged(root, w, 'truncated-beyond-applied', (e) => put(e, 'kv', as, applyState(w.truncated + 1, w.truncated + 3)));
    assert.match(err.message, new RegExp(`apply state .*: truncated index ${w.truncated + 3} beyond applied index ${w.truncated + 1}`));

    const reg = regionStateKey(1);
    err = await reopenDamaged(root, w, 'region-state-garbage', (e) => put(e, 'kv', reg, GARBAGE));
    assert.match(err.message, new RegExp(`^region 1: region state \\(kv engine, key ${hex(reg)}\\): undecodable`));

    err = await reopenDamaged(root, w, 'region-state-other-region', (e) =>
      put(
        e,
        'kv',
        reg,
        raft_serverpb.RegionLocalState.encode({ state: raft_serverpb.PeerState.Normal, region: { ...REGION, id: 7 } }).finish(),
      ),
    );
    assert.match(err.message, /region state .*: describes region 7/);

    // A damaged entry in the middle is not looked for at startup (its value is not read), but
    // the first read of it reports it, naming its key, instead of handing raft garbage.
    {
      const dir = join(root, 'middle-garbage');
      cpSync(w.dir, dir, { recursive: true });
      const e0 = await Engines.open(dir);
      await put(e0, 'raft', raftLogKey(1, mid), GARBAGE);
      await e0.close();
      const { e, s } = await openStore(dir);
      try {
        assert.throws(
          () => s.peer(1)!.storage.entries(w.truncated + 1, w.last + 1),
          (x: Error) =>
            x instanceof StorageCorruptionError &&
            x.message.startsWith(`region 1: raft log entry ${mid} (raft engine, key ${hex(raftLogKey(1, mid))}): undecodable`),
        );
      } finally {
        await s.stop();
        await e.close();
      }
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
