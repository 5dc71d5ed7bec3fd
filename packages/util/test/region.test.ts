import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  endsAfter,
  epochEquals,
  epochOf,
  findPeer,
  findPeerById,
  isEpochStale,
  keyInRange,
  keyInRegion,
  rangesOverlap,
} from '../src/index.js';

const k = (s: string): Uint8Array => Buffer.from(s);

test('keyInRegion: start included, end excluded, an empty or missing end unbounded', () => {
  const r = { startKey: k('b'), endKey: k('d') };
  assert.ok(keyInRegion(k('b'), r));
  assert.ok(keyInRegion(k('c\xff'), r));
  assert.ok(!keyInRegion(k('d'), r));
  assert.ok(!keyInRegion(k('a'), r));
  assert.ok(keyInRegion(k('zzz'), { startKey: k('b'), endKey: new Uint8Array(0) }));
  assert.ok(keyInRegion(k(''), {}));
  assert.ok(keyInRegion(k('x'), { startKey: null, endKey: null }));
  assert.ok(keyInRange(k('a'), k(''), k('b')));
  assert.ok(!keyInRange(k('b'), k(''), k('b')));
});

test('rangesOverlap and endsAfter', () => {
  assert.ok(rangesOverlap({ startKey: k('a'), endKey: k('c') }, { startKey: k('b'), endKey: k('d') }));
  assert.ok(!rangesOverlap({ startKey: k('a'), endKey: k('b') }, { startKey: k('b'), endKey: k('d') }));
  assert.ok(rangesOverlap({ startKey: k('a') }, { startKey: k('x'), endKey: k('y') }));
  assert.ok(rangesOverlap({}, { startKey: k('x'), endKey: k('y') }));
  assert.ok(!rangesOverlap({ startKey: k('y') }, { startKey: k('a'), endKey: k('y') }));
  assert.ok(endsAfter(new Uint8Array(0), k('zz')));
  assert.ok(!endsAfter(k('b'), k('b')));
});

test('epochOf fills missing fields with 0; isEpochStale is older in either component', () => {
  assert.deepEqual(epochOf({}), { confVer: 0, version: 0 });
  assert.deepEqual(epochOf({ regionEpoch: { version: 3 } }), { confVer: 0, version: 3 });
  assert.ok(isEpochStale({ confVer: 2, version: 1 }, { confVer: 1, version: 2 }));
  assert.ok(isEpochStale({ confVer: 1, version: 2 }, { confVer: 2, version: 1 }));
  assert.ok(!isEpochStale({ confVer: 2, version: 2 }, { confVer: 2, version: 2 }));
  assert.ok(!isEpochStale({ confVer: 3, version: 2 }, {}));
  assert.ok(isEpochStale({}, { version: 1 }));
  assert.ok(epochEquals({}, { confVer: 0, version: 0 }));
  assert.ok(!epochEquals({ version: 1 }, { confVer: 1 }));
});

test('findPeer by store, findPeerById by peer id', () => {
  const region = {
    peers: [
      { id: 11, storeId: 1 },
      { id: 12, storeId: 2 },
    ],
  };
  assert.equal(findPeer(region, 2), region.peers[1]);
  assert.equal(findPeer(region, 3), undefined);
  assert.equal(findPeerById(region, 11), region.peers[0]);
  assert.equal(findPeerById(region, 2), undefined);
  assert.equal(findPeer({}, 1), undefined);
  assert.equal(findPeerById({ peers: null }, 1), undefined);
});
