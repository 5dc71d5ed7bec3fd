// Hand-written list-append histories: for each anomaly class one that has it (exactly that class
// is reported, naming the transactions) and a close variant that does not.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkListAppend,
  describeListAppendTxn,
  type ListAppendMop,
  type ListAppendOptions,
  type ListAppendResult,
  type ListAppendTxn,
  type TxnStatus,
} from '../src/index.js';

const r = (k: string, l: number[] | null): ListAppendMop => ['r', k, l];
const a = (k: string, e: number): ListAppendMop => ['append', k, e];

/** Txns T1, T2, ... in order; by default each runs in its own interval after the previous one. */
class Txns {
  readonly txns: ListAppendTxn[] = [];
  private t = 0;

  add(status: TxnStatus, ops: ListAppendMop[], at?: [number, number]): this {
    const [call, ret] = at ?? [this.t, this.t + 1];
    this.t = Math.max(this.t, ret) + 1;
    this.txns.push({
      id: this.txns.length + 1,
      clientId: this.txns.length % 3,
      call,
      return: status === 'unknown' ? Infinity : ret,
      status,
      ops,
    });
    return this;
  }
  ok(...ops: ListAppendMop[]): this {
    return this.add('ok', ops);
  }
  okAt(call: number, ret: number, ...ops: ListAppendMop[]): this {
    return this.add('ok', ops, [call, ret]);
  }
  fail(...ops: ListAppendMop[]): this {
    return this.add('fail', ops);
  }
  unknown(...ops: ListAppendMop[]): this {
    return this.add('unknown', ops);
  }
}

function check(h: Txns, opts?: ListAppendOptions): ListAppendResult {
  return checkListAppend(h.txns, opts);
}

/** Asserts the history fails with exactly one anomaly, of this type, naming these txns (any order). */
function expectOnly(res: ListAppendResult, type: string, txns: number[]): void {
  const detail = JSON.stringify(res.anomalies, null, 1);
  assert.equal(res.valid, false, 'expected a violation');
  assert.deepEqual(res.counts, { [type]: 1 }, detail);
  assert.equal(res.anomalies.length, 1);
  const found = res.anomalies[0]!;
  assert.deepEqual([...found.txns].sort(), [...txns].sort(), detail);
  for (const t of txns) assert.match(found.explanation, new RegExp(`T${t}\\b`), found.explanation);
}

function expectValid(res: ListAppendResult): void {
  assert.equal(res.valid, true, JSON.stringify(res.anomalies, null, 1));
  assert.deepEqual(res.counts, {});
}

describe('list-append: valid histories', () => {
  it('empty, and a serial history with reads of own appends', () => {
    expectValid(checkListAppend([]));
    const h = new Txns()
      .ok(r('x', null), a('x', 1), r('x', [1]), a('x', 2), r('x', [1, 2]))
      .ok(a('x', 3), r('x', [1, 2, 3]), a('y', 1))
      .ok(r('x', [1, 2, 3]), r('y', [1]));
    const res = check(h, { realtime: true });
    expectValid(res);
    assert.equal(res.stats.keys, 2);
    assert.ok(res.stats.edges > 0);
  });

  it('reads of failed and unknown txns carry nothing and are ignored', () => {
    const h = new Txns()
      .ok(a('x', 1))
      .fail(r('x', [42]), a('x', 2))
      .unknown(r('x', [7, 7]), a('x', 3))
      .ok(r('x', [1]));
    expectValid(check(h));
  });

  it('describes a txn', () => {
    const h = new Txns().ok(r('x', [1, 2]), a('y', 5)).unknown(r('x', null));
    assert.equal(describeListAppendTxn(h.txns[0]!), 'T1 (ok, client 0) [r "x" [1 2], append "y" 5]');
    assert.equal(describeListAppendTxn(h.txns[1]!), 'T2 (unknown, client 1) [r "x" ?]');
  });

  it('rejects malformed histories', () => {
    assert.throws(() => checkListAppend(new Txns().ok(a('x', 1)).ok(a('x', 1)).txns), /appended to key "x" twice/);
    const dupId = new Txns().ok(a('x', 1)).ok(a('x', 2)).txns;
    dupId[1]!.id = 1;
    assert.throws(() => checkListAppend(dupId), /duplicate operation id 1/);
    const bad = new Txns().ok(['write', 'x', 1] as unknown as ListAppendMop).txns;
    assert.throws(() => checkListAppend(bad), /malformed micro-op/);
  });
});

describe('list-append: unknown transactions', () => {
  it('an unknown txn nobody saw raises nothing, though its appends would be lost if it had committed', () => {
    const h = new Txns().unknown(a('x', 1), a('y', 1)).ok(r('x', []), r('y', [])).ok(r('x', []));
    const res = check(h, { realtime: true });
    expectValid(res);
    assert.equal(res.stats.unknownCommitted, 0);
  });

  it('an unknown txn whose append was read counts as committed', () => {
    const ok = check(new Txns().unknown(a('x', 1), a('y', 1)).ok(r('x', [1]), r('y', [1])));
    expectValid(ok);
    assert.equal(ok.stats.unknownCommitted, 1);
    // Committed, so the reader that saw its x must see its y too.
    expectOnly(check(new Txns().unknown(a('x', 1), a('y', 1)).ok(r('x', [1]), r('y', []))), 'lost-append', [1, 2]);
  });
});

describe('list-append: anomalies and their near misses', () => {
  it('incompatible-order: two reads that are not prefixes of one order', () => {
    const base = () =>
      new Txns()
        .ok(a('x', 1))
        .ok(a('x', 2))
        .ok(r('x', [1, 2]));
    expectOnly(check(base().ok(r('x', [2, 1]))), 'incompatible-order', [3, 4]);
    expectValid(check(base().ok(r('x', [1]))));
  });

  it('duplicate-elements: a read shows an element twice', () => {
    expectOnly(check(new Txns().ok(a('x', 1)).ok(r('x', [1, 1]))), 'duplicate-elements', [2]);
    expectValid(check(new Txns().ok(a('x', 1)).ok(r('x', [1]))));
  });

  it('garbage-read: an element nobody appended', () => {
    expectOnly(check(new Txns().ok(r('x', [9]))), 'garbage-read', [1]);
    expectValid(check(new Txns().unknown(a('x', 9)).ok(r('x', [9]))));
  });

  it('aborted-read (G1a): a read sees the append of a failed txn', () => {
    expectOnly(check(new Txns().fail(a('x', 1)).ok(r('x', [1]))), 'aborted-read', [1, 2]);
    expectValid(check(new Txns().fail(a('x', 1)).ok(r('x', []))));
    expectValid(check(new Txns().unknown(a('x', 1)).ok(r('x', [1]))));
  });

  it('intermediate-read (G1b): a read sees one append of a txn but not its later append to the same key', () => {
    expectOnly(check(new Txns().ok(a('x', 1), a('x', 2)).ok(r('x', [1]))), 'intermediate-read', [1, 2]);
    expectValid(check(new Txns().ok(a('x', 1), a('x', 2)).ok(r('x', [1, 2]))));
  });

  it('internal: a txn disagrees with its own reads and appends', () => {
    expectOnly(check(new Txns().ok(r('x', []), a('x', 1), r('x', []))), 'internal', [1]);
    expectOnly(check(new Txns().ok(a('x', 1)).ok(a('x', 2), r('x', [2, 1]))), 'internal', [2]);
    expectOnly(check(new Txns().ok(r('x', [1]), a('x', 1))), 'internal', [1]);
    expectValid(check(new Txns().ok(r('x', []), a('x', 1), r('x', [1]))));
    expectValid(check(new Txns().ok(a('x', 1)).ok(a('x', 2), r('x', [1, 2]))));
  });

  it('lost-append: a reader that saw one append of a committed txn misses its other one, which no read ever saw', () => {
    expectOnly(check(new Txns().ok(a('x', 1), a('y', 1)).ok(r('y', [1]), r('x', []))), 'lost-append', [1, 2]);
    expectValid(check(new Txns().ok(a('x', 1), a('y', 1)).ok(r('y', [1]), r('x', [1]))));
    // A consistent but old snapshot is fine under snapshot isolation.
    expectValid(check(new Txns().ok(a('x', 1), a('y', 1)).ok(r('y', []), r('x', []))));
  });

  it('lost-append, real time: a txn called after the append committed does not see it', () => {
    const h = () => new Txns().okAt(0, 1, a('x', 1)).okAt(2, 3, r('x', []));
    expectOnly(check(h(), { realtime: true }), 'lost-append', [1, 2]);
    expectValid(check(h()));
    expectValid(check(new Txns().okAt(0, 2, a('x', 1)).okAt(2, 3, r('x', [])), { realtime: true }));
  });

  it('G0: appends ordered one way on x and the other way on y', () => {
    const h = (y: number[]) =>
      new Txns()
        .ok(a('x', 1), a('y', 2))
        .ok(a('x', 3), a('y', 4))
        .ok(r('x', [1, 3]), r('y', y));
    const res = check(h([4, 2]));
    expectOnly(res, 'G0', [1, 2]);
    assert.deepEqual(
      res.anomalies[0]!.cycle!.map((s) => s.type),
      ['ww', 'ww'],
    );
    expectValid(check(h([2, 4])));
  });

  it('G1c: each of two txns read the other one’s append', () => {
    expectOnly(check(new Txns().ok(a('x', 1), r('y', [1])).ok(a('y', 1), r('x', [1]))), 'G1c', [1, 2]);
    expectValid(
      check(
        new Txns()
          .ok(a('x', 1), r('y', []))
          .ok(a('y', 1), r('x', [1]))
          .ok(r('y', [1])),
      ),
    );
  });

  it('G-single (read skew): a snapshot with one of a txn’s appends but not the other', () => {
    const h = (y: number[]) =>
      new Txns()
        .ok(a('x', 1), a('y', 1))
        .ok(r('x', [1]), r('y', y))
        .ok(r('y', [1]));
    const res = check(h([]));
    expectOnly(res, 'G-single', [1, 2]);
    assert.deepEqual(res.anomalies[0]!.cycle!.map((s) => s.type).sort(), ['rw', 'wr']);
    assert.match(res.anomalies[0]!.explanation, /T2 read "y" = \[\], missing 1, which T1 appended next/);
    expectValid(check(h([1])));
  });

  it('G-single-realtime: a read misses a write that committed before it began (only with real time)', () => {
    const h = () =>
      new Txns()
        .okAt(0, 1, a('x', 1))
        .okAt(2, 3, r('x', []))
        .okAt(4, 5, r('x', [1]));
    expectOnly(check(h(), { realtime: true }), 'G-single-realtime', [1, 2]);
    expectValid(check(h()));
  });

  it('G-nonadjacent (long fork): two snapshots see two independent appends in opposite orders', () => {
    const h = (t3b: number[]) =>
      new Txns()
        .ok(r('a', []), r('b', [1]))
        .ok(a('a', 1))
        .ok(r('a', [1]), r('b', t3b))
        .ok(a('b', 1));
    const res = check(h([]));
    expectOnly(res, 'G-nonadjacent', [1, 2, 3, 4]);
    assert.deepEqual(
      res.anomalies[0]!.cycle!.map((s) => s.type).filter((t) => t === 'rw'),
      ['rw', 'rw'],
    );
    expectValid(check(h([1])));
  });

  it('G2-item (write skew): allowed under snapshot isolation, reported as info; forbidden under serializability', () => {
    const h = (t2x: number[]) =>
      new Txns()
        .ok(r('x', []), r('y', []), a('x', 1))
        .ok(r('x', t2x), r('y', []), a('y', 1))
        .ok(r('x', [1]), r('y', [1]));
    const si = check(h([]));
    assert.equal(si.valid, true);
    assert.deepEqual(si.anomalies, []);
    assert.deepEqual(si.counts, { 'G2-item': 1 });
    assert.deepEqual([...si.allowed[0]!.txns].sort(), [1, 2]);
    assert.match(si.allowed[0]!.explanation, /write skew/);
    expectOnly(check(h([]), { consistency: 'serializable' }), 'G2-item', [1, 2]);
    const fixed = check(h([1]), { consistency: 'serializable' });
    expectValid(fixed);
    assert.deepEqual(fixed.allowed, []);
  });

  it('lost-update: two txns read the same list and both appended, and nobody read the result', () => {
    const h = (t2x: number[]) => new Txns().ok(r('x', []), a('x', 1)).ok(r('x', t2x), a('x', 2));
    const res = check(h([]));
    expectOnly(res, 'lost-update', [1, 2]);
    assert.deepEqual(res.allowed, []);
    expectValid(check(h([1])));
    // Once the appends are read, the order is known and the same conflict is a G-single cycle.
    expectOnly(check(h([]).ok(r('x', [1, 2]))), 'G-single', [1, 2]);
  });

  it('first committer wins orders two writers of a key nobody read: a G-single through that ww edge', () => {
    const h = (t3x: number[]) =>
      new Txns()
        .ok(r('y', []), a('x', 1))
        .ok(a('y', 2), a('y', 3))
        .ok(r('x', t3x), a('x', 4), r('y', [2, 3]));
    const res = check(h([]));
    expectOnly(res, 'G-single', [1, 2, 3]);
    assert.match(res.anomalies[0]!.explanation, /first committer wins puts T3 first/);
    expectValid(check(h([1])));
  });

  it('an unread append still follows everything read: write skew over appends nobody read', () => {
    const h = (t2x: number[]) => new Txns().ok(a('x', 1), r('y', [])).ok(a('y', 2), r('x', t2x));
    const si = check(h([]));
    assert.equal(si.valid, true);
    assert.deepEqual(si.counts, { 'G2-item': 1 });
    assert.match(si.allowed[0]!.explanation, /committed, never read/);
    expectOnly(check(h([]), { consistency: 'serializable' }), 'G2-item', [1, 2]);
    expectValid(check(h([1]), { consistency: 'serializable' }));
  });

  it('non-atomic-append: one txn’s appends to a key read out of program order', () => {
    const h = (x: number[]) => new Txns().ok(a('x', 1), a('x', 2)).ok(a('x', 3)).ok(r('x', x));
    expectOnly(check(h([2, 1, 3])), 'non-atomic-append', [1, 3]);
    expectValid(check(h([1, 2, 3])));
    // Split by another txn's append: a ww cycle; a later append seen without the earlier: lost.
    expectOnly(check(h([1, 3, 2])), 'G0', [1, 2]);
    expectOnly(check(h([2, 3])), 'lost-append', [1, 3]);
  });

  it('reports are capped per type, counts are not', () => {
    const h = new Txns();
    for (let i = 0; i < 30; i++) h.ok(r(`k${i}`, [i]));
    const res = check(h, { maxReportsPerType: 3 });
    assert.equal(res.counts['garbage-read'], 30);
    assert.equal(res.anomalies.length, 3);
  });
});
