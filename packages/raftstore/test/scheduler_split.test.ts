// A split the scheduler asks for in a heartbeat answer (splitRegion): the leader gets ids with
// askBatchSplit, proposes a BatchSplit at the scheduler's key and reports the split; a key that is
// not strictly inside the region is refused by the split's checks and changes nothing.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Engines } from '@tskv/engine';
import type { metapb } from '@tskv/proto';
import { bootstrapRegion, bootstrapStore, type SchedulerClient, type SchedulerOperator, Store, storeConfig } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array());

async function until(what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One store holding region 1 [a, z) alone; the scheduler stub answers every heartbeat with `answer`. */
async function oneStore(answer: (r: metapb.IRegion) => SchedulerOperator | null) {
  const dir = mkdtempSync(join(tmpdir(), 'tskv-sched-split-'));
  const e = await Engines.open(join(dir, 's1'));
  await bootstrapStore(e, 1, 1);
  await bootstrapRegion(e, {
    id: 1,
    startKey: enc('a'),
    endKey: enc('z'),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [{ id: 101, storeId: 1 }],
  });
  const asked: number[] = [];
  const reported: metapb.IRegion[][] = [];
  let nextId = 1000;
  const scheduler: SchedulerClient = {
    regionHeartbeat: (r) => answer(r),
    askBatchSplit: async (_r, count) => {
      asked.push(count);
      return Array.from({ length: count }, () => ({ newRegionId: nextId++, newPeerIds: [nextId++] }));
    },
    reportBatchSplit: (rs) => void reported.push(rs),
  };
  const store = await Store.create(
    storeConfig({ storeId: 1, raftBaseTickMs: 20, schedulerHeartbeatTickMs: 50 }),
    e,
    { send: () => {} },
    scheduler,
  );
  store.start();
  return {
    store,
    asked,
    reported,
    close: async () => {
      await store.stop();
      await e.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a splitRegion answer splits the region at the key, with ids from askBatchSplit, and the split is reported', async () => {
  const s = await oneStore((r) => (dec(r.endKey) === 'z' ? { splitRegion: { splitKeys: [enc('m')] } } : null));
  try {
    await until('the split reported', () => s.reported.length > 0);
    const [derived, created] = s.reported[0]!;
    assert.equal(dec(derived!.startKey), 'a');
    assert.equal(dec(derived!.endKey), 'm');
    assert.equal(dec(created!.startKey), 'm');
    assert.equal(dec(created!.endKey), 'z');
    assert.equal(created!.id, 1000);
    assert.equal(derived!.regionEpoch!.version, 2);
    await until('the new region runs on the store', () => !!s.store.peer(1000));
    assert.deepEqual(
      s.store.rangeIndex().map((r) => [dec(r.start), dec(r.end)]),
      [
        ['a', 'm'],
        ['m', 'z'],
      ],
    );
  } finally {
    await s.close();
  }
});

test('a splitRegion answer with a key outside the region, or at its start, changes nothing', async () => {
  let answers = 0;
  const keys = [enc('zz'), enc('a')];
  const s = await oneStore(() => {
    const k = keys[answers++ % keys.length]!;
    return { splitRegion: { splitKeys: [k] } };
  });
  try {
    await until('both keys asked for', () => s.asked.length >= 4);
    assert.equal(s.reported.length, 0);
    assert.deepEqual(
      s.store.rangeIndex().map((r) => [dec(r.start), dec(r.end)]),
      [['a', 'z']],
    );
  } finally {
    await s.close();
  }
});
