import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareBytes, keyInRange } from '@tskv/util';
import {
  ALL_CFS,
  applyStateKey,
  CF_PREFIX,
  cfRange,
  decodeKey,
  decodeRaftLogKey,
  decodeU64,
  encodeKey,
  encodeU64,
  isRegionStateKey,
  prefixEnd,
  prepareBootstrapKey,
  raftLogKey,
  raftLogPrefix,
  raftLogRange,
  raftStateKey,
  regionIdFromRegionStateKey,
  regionMetaPrefix,
  regionRaftPrefix,
  regionStateKey,
  regionStateRange,
  storeIdentKey,
} from '../src/index.js';
import { b, hex, seededRandom } from './helpers.js';

const MAX = Number.MAX_SAFE_INTEGER;
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const cmpTuple = (a: number[], c: number[]): number => {
  for (let i = 0; i < a.length; i++) if (a[i] !== c[i]) return a[i]! < c[i]! ? -1 : 1;
  return 0;
};

describe('keys: byte layouts (pinned to the documented table)', () => {
  it('CF prefixes are distinct single bytes below 0xff, none adjacent-overlapping', () => {
    const bytes = ALL_CFS.map((cf) => CF_PREFIX[cf]);
    assert.deepEqual(bytes, [0x44, 0x4c, 0x57, 0x64, 0x6c, 0x72, 0x77]);
    assert.equal(new Set(bytes).size, bytes.length);
    for (const p of bytes) assert.ok(p < 0xff);
  });

  it('local keys have the documented bytes', () => {
    assert.equal(hex(storeIdentKey()), '0101');
    assert.equal(hex(prepareBootstrapKey()), '0102');
    assert.equal(hex(raftLogKey(1, 2)), '0102' + '0000000000000001' + '01' + '0000000000000002');
    assert.equal(hex(raftStateKey(0x0102030405)), '0102' + '0000000102030405' + '02');
    assert.equal(hex(applyStateKey(7)), '0102' + '0000000000000007' + '03');
    assert.equal(hex(regionStateKey(MAX)), '0103' + '001fffffffffffff' + '01');
    assert.equal(hex(raftLogPrefix(3)), '0102' + '0000000000000003' + '01');
    assert.equal(hex(regionRaftPrefix(3)), '0102' + '0000000000000003');
    assert.equal(hex(regionMetaPrefix(3)), '0103' + '0000000000000003');
    assert.equal(hex(encodeKey('write', b('k'))), '776b');
  });
});

describe('keys: u64', () => {
  it('round-trips boundary values as 8 big-endian bytes', () => {
    for (const n of [0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, MAX]) {
      const e = encodeU64(n);
      assert.equal(e.length, 8);
      assert.equal(decodeU64(e), n);
    }
    assert.equal(hex(encodeU64(2 ** 32)), '0000000100000000');
  });

  it('rejects negative, fractional and unsafe numbers, and decodes no unsafe value', () => {
    for (const n of [-1, 1.5, MAX + 1, Number.NaN, Infinity]) assert.throws(() => encodeU64(n), RangeError);
    assert.throws(() => decodeU64(Uint8Array.of(0, 0x20, 0, 0, 0, 0, 0, 0)), RangeError);
    assert.throws(() => decodeU64(new Uint8Array(7)), RangeError);
    assert.throws(() => raftLogKey(-1, 0), RangeError);
    assert.throws(() => raftLogKey(1, 2.5), RangeError);
  });
});

describe('keys: CF encoding and ranges', () => {
  it('encodeKey/decodeKey round-trip for every CF, including empty and 0xff keys', () => {
    for (const cf of ALL_CFS) {
      for (const k of [b([]), b([0]), b([0xff]), b([0xff, 0xff, 0xff]), b('user-key')]) {
        const stored = encodeKey(cf, k);
        assert.equal(stored[0], CF_PREFIX[cf]);
        const d = decodeKey(stored);
        assert.equal(d.cf, cf);
        assert.deepEqual(Buffer.from(d.key), Buffer.from(k));
      }
    }
    assert.throws(() => decodeKey(b([0x00, 1])), RangeError);
    assert.throws(() => decodeKey(b([])), RangeError);
    assert.throws(() => encodeKey('nope' as never, b('k')), TypeError);
  });

  it('cfRange: an empty end is the end of the CF and every key of the CF (only) is inside', () => {
    for (const cf of ALL_CFS) {
      const { gte, lt } = cfRange(cf, b([]), b([]));
      assert.equal(hex(gte), CF_PREFIX[cf].toString(16));
      assert.equal(hex(lt), (CF_PREFIX[cf] + 1).toString(16));
      for (const other of ALL_CFS) {
        for (const k of [b([]), b([0]), b([0xff, 0xff, 0xff, 0xff]), b('zzz')]) {
          const s = encodeKey(other, k);
          const inside = compareBytes(s, gte) >= 0 && compareBytes(s, lt) < 0;
          assert.equal(inside, other === cf, `${other} key ${hex(k)} vs ${cf} range`);
        }
      }
    }
    const r = cfRange('lock', b('a'), b('c'));
    assert.equal(hex(r.gte), '6c61');
    assert.equal(hex(r.lt), '6c63');
  });

  it('prefixEnd, keyInRange, compareBytes', () => {
    assert.equal(hex(prefixEnd(b([1, 2]))), '0103');
    assert.equal(hex(prefixEnd(b([1, 0xff, 0xff]))), '02');
    assert.equal(hex(prefixEnd(b([0xff, 0xff]))), '');
    assert.ok(keyInRange(b('b'), b('a'), b('c')));
    assert.ok(keyInRange(b('a'), b('a'), b('c')));
    assert.ok(!keyInRange(b('c'), b('a'), b('c')));
    assert.ok(keyInRange(b([0xff, 0xff]), b('a'), b([])));
    assert.ok(!keyInRange(b(''), b('a'), b([])));
    assert.ok(compareBytes(b('a'), b('ab')) < 0);
    assert.ok(compareBytes(b([0xff]), b([0x00, 0x00])) > 0);
    assert.equal(compareBytes(b('x'), b('x')), 0);
  });
});

describe('keys: raft local keys', () => {
  it('randomized: log keys round-trip and sort by (region, index); regions never interleave', () => {
    const rnd = seededRandom('raft log key order');
    const pick = (): number => {
      const r = rnd.next();
      if (r < 0.2) return rnd.int(4);
      if (r < 0.4) return 2 ** 32 - 2 + rnd.int(4);
      if (r < 0.5) return MAX - rnd.int(3);
      return Math.floor(rnd.next() * MAX);
    };
    for (let i = 0; i < 3000; i++) {
      const a = [pick(), pick()] as [number, number];
      const c = rnd.next() < 0.3 ? ([a[0], pick()] as [number, number]) : ([pick(), pick()] as [number, number]);
      const ka = raftLogKey(a[0], a[1]);
      const kc = raftLogKey(c[0], c[1]);
      assert.deepEqual(decodeRaftLogKey(ka), { regionId: a[0], index: a[1] }, `seed=${rnd.seed}`);
      assert.equal(sign(compareBytes(ka, kc)), cmpTuple(a, c), `seed=${rnd.seed} ${a} vs ${c}`);
      // Every key of region a[0] lies inside its region prefix range and outside c's (if different).
      const pa = regionRaftPrefix(a[0]);
      for (const k of [ka, raftStateKey(a[0]), applyStateKey(a[0])]) {
        assert.ok(keyInRange(k, pa, prefixEnd(pa)), `seed=${rnd.seed}`);
        if (c[0] !== a[0]) {
          const pc = regionRaftPrefix(c[0]);
          assert.ok(!keyInRange(k, pc, prefixEnd(pc)), `seed=${rnd.seed}`);
        }
      }
      // Raft and apply state keys sort after all of the region's log entries.
      assert.ok(compareBytes(ka, raftStateKey(a[0])) < 0);
      assert.ok(compareBytes(raftStateKey(a[0]), applyStateKey(a[0])) < 0);
    }
  });

  it('randomized: raftLogRange(id, lo, hi) holds exactly the entries lo <= index < hi of that region', () => {
    const rnd = seededRandom('raft log range');
    for (let i = 0; i < 2000; i++) {
      const region = 1 + rnd.int(5);
      const lo = rnd.int(100);
      const hi = rnd.next() < 0.2 ? undefined : lo + rnd.int(100);
      const { start, end } = raftLogRange(region, lo, hi);
      const r2 = 1 + rnd.int(5);
      const idx = rnd.next() < 0.1 ? MAX : rnd.int(220);
      const want = r2 === region && idx >= lo && (hi === undefined || idx < hi);
      assert.equal(keyInRange(raftLogKey(r2, idx), start, end), want, `seed=${rnd.seed} r=${region} [${lo},${hi}) key=(${r2},${idx})`);
      // The region's raft state / apply state are never inside a log range.
      assert.ok(!keyInRange(raftStateKey(region), start, end));
      assert.ok(!keyInRange(applyStateKey(region), start, end));
    }
  });

  it('decodeRaftLogKey rejects other keys', () => {
    for (const k of [raftStateKey(1), applyStateKey(1), regionStateKey(1), storeIdentKey(), raftLogKey(1, 1).subarray(0, 18)]) {
      assert.throws(() => decodeRaftLogKey(k), RangeError);
    }
  });

  it('region state keys: round-trip, and regionStateRange holds them and nothing else', () => {
    const rnd = seededRandom('region state keys');
    const { start, end } = regionStateRange();
    for (let i = 0; i < 500; i++) {
      const id = i < 3 ? [0, 1, MAX][i]! : Math.floor(rnd.next() * MAX);
      const k = regionStateKey(id);
      assert.ok(isRegionStateKey(k));
      assert.equal(regionIdFromRegionStateKey(k), id, `seed=${rnd.seed}`);
      assert.ok(keyInRange(k, start, end));
      for (const other of [raftLogKey(id, 5), raftStateKey(id), applyStateKey(id), storeIdentKey(), prepareBootstrapKey()]) {
        assert.ok(!keyInRange(other, start, end), hex(other));
        assert.ok(!isRegionStateKey(other));
        assert.throws(() => regionIdFromRegionStateKey(other), RangeError);
      }
    }
    // Region states enumerate in region id order.
    assert.ok(compareBytes(regionStateKey(2), regionStateKey(10)) < 0);
    assert.ok(compareBytes(regionStateKey(2 ** 32 - 1), regionStateKey(2 ** 32)) < 0);
  });

  it('store ident and prepare-bootstrap keys lie in no region range', () => {
    for (const id of [0, 1, 2 ** 40]) {
      for (const p of [regionRaftPrefix(id), regionMetaPrefix(id)]) {
        assert.ok(!keyInRange(storeIdentKey(), p, prefixEnd(p)));
        assert.ok(!keyInRange(prepareBootstrapKey(), p, prefixEnd(p)));
      }
      const r = raftLogRange(id);
      assert.ok(!keyInRange(prepareBootstrapKey(), r.start, r.end));
    }
  });
});
