// The mock transport on its own: wire round trip, asynchronous delivery, every filter, down stores.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RaftMessage } from '@tskv/raftstore';
import { Prng } from '@tskv/util';
import { appendKey, appendValue, checkAppends, MessageType, MockTransport } from '../src/index.js';

function msg(from: number, to: number, type: MessageType = MessageType.MsgHeartbeat, regionId = 1): RaftMessage {
  return {
    regionId,
    fromPeer: { id: from, storeId: from },
    toPeer: { id: to, storeId: to },
    regionEpoch: { confVer: 1, version: 1 },
    message: {
      msgType: type,
      from,
      to,
      term: 7,
      logTerm: 6,
      index: 42,
      commit: 40,
      entries: [{ entryType: 0, term: 6, index: 43, data: Uint8Array.of(1, 2, 3), context: new Uint8Array(0) }],
      snapshot: null,
      requestSnapshot: 0,
      reject: false,
      rejectHint: 0,
      context: new Uint8Array(0),
    },
  };
}

function net(n = 3, seed = 1): { t: MockTransport; got: Map<number, RaftMessage[]>; ends: Map<number, { send(m: RaftMessage): void }> } {
  const t = new MockTransport(new Prng(seed));
  const got = new Map<number, RaftMessage[]>();
  const ends = new Map<number, { send(m: RaftMessage): void }>();
  for (let i = 1; i <= n; i++) {
    got.set(i, []);
    ends.set(i, t.connect(i, { onRaftMessage: (m) => got.get(i)!.push(m) }));
  }
  return { t, got, ends };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('MockTransport', () => {
  test('delivers a decoded copy asynchronously', async () => {
    const { ends, got } = net();
    const m = msg(1, 2);
    ends.get(1)!.send(m);
    assert.equal(got.get(2)!.length, 0, 'delivered synchronously');
    await tick();
    const r = got.get(2)!;
    assert.equal(r.length, 1);
    assert.notEqual(r[0], m);
    assert.equal(r[0]!.regionId, 1);
    assert.equal(r[0]!.message!.msgType, MessageType.MsgHeartbeat);
    assert.equal(r[0]!.message!.term, 7);
    assert.equal(r[0]!.message!.commit, 40);
    assert.deepEqual([...r[0]!.message!.entries![0]!.data!], [1, 2, 3]);
    assert.equal(r[0]!.toPeer!.storeId, 2);
  });

  test('partition drops messages across groups only', async () => {
    const { t, ends, got } = net(4);
    t.partition([1, 2], [3]); // 4 is in neither group: a group of its own
    for (const [f, to] of [
      [1, 2],
      [1, 3],
      [3, 1],
      [2, 4],
      [4, 3],
      [2, 1],
    ] as const)
      ends.get(f)!.send(msg(f, to));
    await tick();
    assert.equal(got.get(2)!.length, 1);
    assert.equal(got.get(1)!.length, 1);
    assert.equal(got.get(3)!.length, 0);
    assert.equal(got.get(4)!.length, 0);
    assert.equal(t.stats.droppedByFilter, 4);
    t.clearFilters();
    ends.get(1)!.send(msg(1, 3));
    await tick();
    assert.equal(got.get(3)!.length, 1);
  });

  test('random drops follow the seed', async () => {
    const pattern = async (seed: number): Promise<number[]> => {
      const { t, ends, got } = net(2, seed);
      t.dropRandomly(0.3);
      for (let i = 0; i < 200; i++) {
        const m = msg(1, 2);
        m.message!.index = i;
        ends.get(1)!.send(m);
      }
      await tick();
      return got.get(2)!.map((m) => m.message!.index!);
    };
    const a = await pattern(5);
    assert.deepEqual(await pattern(5), a);
    assert.notDeepEqual(await pattern(6), a);
    assert.ok(a.length > 100 && a.length < 180, `kept ${a.length} of 200 at p=0.3`);
  });

  test('delay, one-way drop, message types, down stores', async () => {
    const { t, ends, got } = net(3);
    const d = t.delay(60);
    ends.get(1)!.send(msg(1, 2));
    await sleep(20);
    assert.equal(got.get(2)!.length, 0, 'delivered before the delay');
    const deadline = Date.now() + 10_000;
    while (got.get(2)!.length === 0) {
      assert.ok(Date.now() < deadline, 'a delayed message was never delivered');
      await sleep(5);
    }
    assert.equal(got.get(2)!.length, 1);
    t.removeFilter(d);

    t.dropOneWay(1, 2);
    ends.get(1)!.send(msg(1, 2));
    ends.get(2)!.send(msg(2, 1));
    await tick();
    assert.equal(got.get(2)!.length, 1);
    assert.equal(got.get(1)!.length, 1);
    t.clearFilters();

    t.dropTypes([MessageType.MsgAppend], { to: 3 });
    ends.get(1)!.send(msg(1, 3, MessageType.MsgAppend));
    ends.get(1)!.send(msg(1, 3, MessageType.MsgHeartbeat));
    ends.get(1)!.send(msg(1, 2, MessageType.MsgAppend));
    await tick();
    assert.deepEqual(
      got.get(3)!.map((m) => m.message!.msgType),
      [MessageType.MsgHeartbeat],
    );
    assert.equal(got.get(2)!.length, 2);
    t.clearFilters();

    // Store 3 down: nothing to it, nothing from its old endpoint, even after it reconnects.
    const old3 = ends.get(3)!;
    ends.get(1)!.send(msg(1, 3));
    t.disconnect(3); // also drops what was in flight
    old3.send(msg(3, 1));
    await tick();
    assert.equal(got.get(3)!.length, 1);
    assert.equal(got.get(1)!.length, 1);
    t.connect(3, { onRaftMessage: (m) => got.get(3)!.push(m) });
    old3.send(msg(3, 1));
    ends.get(1)!.send(msg(1, 3));
    await tick();
    assert.equal(got.get(1)!.length, 1);
    assert.equal(got.get(3)!.length, 2);
  });

  test('a store going down is reported to the stores that had sent to it', async () => {
    const t = new MockTransport(new Prng(1));
    const told = new Map<number, number[]>([
      [1, []],
      [2, []],
      [3, []],
    ]);
    const ends = new Map(
      [1, 2, 3].map((i) => [i, t.connect(i, { onRaftMessage: () => {}, reportStoreUnreachable: (s) => told.get(i)!.push(s) })]),
    );
    ends.get(1)!.send(msg(1, 2));
    ends.get(2)!.send(msg(2, 3));
    t.partition([1], [2, 3]);
    ends.get(1)!.send(msg(1, 3)); // dropped by the filter: the connection is there all the same
    t.clearFilters();
    t.disconnect(2);
    assert.deepEqual(told.get(1), [], 'told synchronously');
    await tick();
    // Store 1 had sent to 2; store 3 had not (2's own stream to 3 died with it).
    assert.deepEqual(
      [...told],
      [
        [1, [2]],
        [2, []],
        [3, []],
      ],
    );
    t.disconnect(3);
    await tick();
    assert.deepEqual(told.get(1), [2, 3]);
    assert.equal(t.stats.storeDownReports, 2);
  });
});

describe('checkAppends', () => {
  const kv = (c: number, n: number, v = appendValue(c, n)): [Uint8Array, Uint8Array] => [Buffer.from(appendKey(c, n)), Buffer.from(v)];
  test('accepts exactly the acknowledged sequence', () => {
    assert.equal(checkAppends(1, [kv(1, 0), kv(1, 1)], 2), null);
    assert.equal(checkAppends(1, [], 0), null);
  });
  test('rejects a missing, an unacknowledged, a wrong or a misplaced value', () => {
    assert.match(checkAppends(1, [kv(1, 0)], 2)!, /only 1 of 2/);
    assert.match(checkAppends(1, [kv(1, 0), kv(1, 1)], 1)!, /never acknowledged/);
    assert.match(checkAppends(1, [kv(1, 0, 'x 1 5 y')], 1)!, /want/);
    assert.match(checkAppends(1, [kv(1, 1), kv(1, 2)], 2)!, /missing or out of order/);
  });
});
