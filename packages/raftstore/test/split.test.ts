// Validation and effect of a BatchSplit on a region (split.ts): every refusal is an
// InvalidRequestError naming the problem; an accepted split shrinks the original region to the
// leftmost range and creates the others with the allocated ids, the same stores and roles, and
// the version raised by the number of new regions on all of them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { metapb, type raft_cmdpb } from '@tskv/proto';
import { InvalidRequestError } from '../src/errors.js';
import { applySplit } from '../src/split.js';

const Role = metapb.PeerRole;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (s: string): string => Buffer.from(s).toString('hex');
const str = (b: Uint8Array | null | undefined): string => new TextDecoder().decode(b ?? new Uint8Array(0));

const PEERS: metapb.IPeer[] = [
  { id: 11, storeId: 1, role: Role.Voter, isLearner: false },
  { id: 12, storeId: 2, role: Role.Voter, isLearner: false },
  { id: 13, storeId: 3, role: Role.Learner, isLearner: true },
];

/** Region 1 [c, p) at version 4, conf_ver 7. */
function region(startKey = 'c', endKey = 'p'): metapb.IRegion {
  return {
    id: 1,
    startKey: enc(startKey),
    endKey: enc(endKey),
    regionEpoch: { confVer: 7, version: 4 },
    peers: PEERS.map((p) => ({ ...p })),
  };
}

let nextId = 100;
function req(key: string | Uint8Array | undefined, fields: Partial<raft_cmdpb.ISplitRequest> = {}): raft_cmdpb.ISplitRequest {
  const base = nextId;
  nextId += 10;
  return { splitKey: typeof key === 'string' ? enc(key) : key, newRegionId: base, newPeerIds: [base + 1, base + 2, base + 3], ...fields };
}

function refused(r: metapb.IRegion, split: raft_cmdpb.IBatchSplitRequest, message: RegExp): void {
  const before = structuredClone(r);
  assert.throws(
    () => applySplit(r, split),
    (err: unknown) => {
      assert.ok(err instanceof InvalidRequestError, `expected InvalidRequestError, got ${String(err)}`);
      assert.match(err.message, message);
      assert.match(err.toPb().message ?? '', /^invalid request: /);
      return true;
    },
  );
  assert.deepEqual(r, before, 'the region is not modified by a refused split');
}

const notInside = (key: string): RegExp => new RegExp(`^split key ${hex(key)} is not strictly inside region 1 after the previous key$`);

// ---- refusals ----

test('a split without split keys is refused', () => {
  refused(region(), { requests: [] }, /^a split without split keys$/);
  refused(region(), {}, /^a split without split keys$/);
});

test('an empty or missing split key is refused', () => {
  refused(region(), { requests: [req('')] }, /^empty split key$/);
  refused(region(), { requests: [req(undefined)] }, /^empty split key$/);
  refused(region(), { requests: [req('f'), req('')] }, /^empty split key$/);
});

test('a split key equal to the region start is refused', () => {
  refused(region(), { requests: [req('c')] }, notInside('c'));
});

test('a split key before the region start is refused', () => {
  refused(region(), { requests: [req('a')] }, notInside('a'));
  refused(region(), { requests: [req('b\xff')] }, notInside('b\xff'));
});

test('a split key at or after the region end is refused', () => {
  refused(region(), { requests: [req('p')] }, notInside('p'));
  refused(region(), { requests: [req('z')] }, notInside('z'));
  refused(region(), { requests: [req('f'), req('q')] }, notInside('q'));
});

test('split keys that are not strictly increasing are refused', () => {
  refused(region(), { requests: [req('f'), req('f')] }, notInside('f'));
  refused(region(), { requests: [req('h'), req('f')] }, notInside('f'));
  refused(region(), { requests: [req('e'), req('h'), req('g')] }, notInside('g'));
});

test('a split request without a new region id is refused', () => {
  refused(region(), { requests: [req('f', { newRegionId: 0 })] }, /^a split needs a new region id$/);
  refused(region(), { requests: [req('f'), req('h', { newRegionId: undefined })] }, /^a split needs a new region id$/);
});

test("a split request with a peer id count other than the region's peers is refused", () => {
  refused(region(), { requests: [req('f', { newPeerIds: [1, 2] })] }, /^a split of region 1 needs 3 new peer ids, got 2$/);
  refused(region(), { requests: [req('f', { newPeerIds: [1, 2, 3, 4] })] }, /^a split of region 1 needs 3 new peer ids, got 4$/);
  refused(region(), { requests: [req('f'), req('h', { newPeerIds: undefined })] }, /^a split of region 1 needs 3 new peer ids, got 0$/);
});

test('a right-derived split is refused rather than carried out left-derived', () => {
  refused(region(), { requests: [req('f')], rightDerive: true }, /right_derive/);
});

// ---- accepted splits ----

test('one split key: the original keeps [start, key) and its id and peers, the new region takes [key, end)', () => {
  const r = region();
  const before = structuredClone(r);
  const { derived, regions } = applySplit(r, { requests: [{ splitKey: enc('h'), newRegionId: 2, newPeerIds: [21, 22, 23] }] });
  assert.deepEqual(r, before, 'the input region is not modified');
  assert.equal(derived.id, 1);
  assert.equal(str(derived.startKey), 'c');
  assert.equal(str(derived.endKey), 'h');
  assert.deepEqual(derived.peers, PEERS);
  assert.deepEqual(derived.regionEpoch, { version: 5, confVer: 7 });
  assert.equal(regions.length, 1);
  const [n] = regions;
  assert.equal(n!.id, 2);
  assert.equal(str(n!.startKey), 'h');
  assert.equal(str(n!.endKey), 'p');
  assert.deepEqual(n!.regionEpoch, { version: 5, confVer: 7 });
  assert.deepEqual(n!.peers, [
    { id: 21, storeId: 1, role: Role.Voter, isLearner: false },
    { id: 22, storeId: 2, role: Role.Voter, isLearner: false },
    { id: 23, storeId: 3, role: Role.Learner, isLearner: true },
  ]);
});

test('several split keys: new regions in key order, each with its ids; the version grows by their number everywhere', () => {
  const { derived, regions } = applySplit(region(), {
    requests: [
      { splitKey: enc('e'), newRegionId: 2, newPeerIds: [21, 22, 23] },
      { splitKey: enc('g'), newRegionId: 3, newPeerIds: [31, 32, 33] },
      { splitKey: enc('m'), newRegionId: 4, newPeerIds: [41, 42, 43] },
    ],
  });
  assert.deepEqual([str(derived.startKey), str(derived.endKey)], ['c', 'e']);
  assert.deepEqual(
    regions.map((x) => [x.id, str(x.startKey), str(x.endKey), x.peers!.map((p) => `${p.id}@${p.storeId}`).join(',')]),
    [
      [2, 'e', 'g', '21@1,22@2,23@3'],
      [3, 'g', 'm', '31@1,32@2,33@3'],
      [4, 'm', 'p', '41@1,42@2,43@3'],
    ],
  );
  for (const x of [derived, ...regions]) assert.deepEqual(x.regionEpoch, { version: 7, confVer: 7 }, `region ${x.id}`);
});

test('a region over the whole key space splits at any non-empty key; the last new region stays unbounded', () => {
  const whole: metapb.IRegion = {
    id: 1,
    startKey: new Uint8Array(0),
    endKey: new Uint8Array(0),
    regionEpoch: { confVer: 1, version: 1 },
    peers: [PEERS[0]!],
  };
  const { derived, regions } = applySplit(whole, {
    requests: [
      { splitKey: new Uint8Array([0]), newRegionId: 2, newPeerIds: [21] },
      { splitKey: enc('k'), newRegionId: 3, newPeerIds: [31] },
    ],
  });
  assert.deepEqual(derived.startKey, new Uint8Array(0));
  assert.deepEqual(derived.endKey, new Uint8Array([0]));
  assert.deepEqual(regions[0]!.startKey, new Uint8Array([0]));
  assert.equal(str(regions[0]!.endKey), 'k');
  assert.equal(str(regions[1]!.startKey), 'k');
  assert.equal(regions[1]!.endKey!.length, 0);
  assert.deepEqual(derived.regionEpoch, { version: 3, confVer: 1 });
});

test('a split key just after the start and just before the end are inside', () => {
  const { derived, regions } = applySplit(region(), { requests: [req('c\x00'), req('o\xff')] });
  assert.equal(str(derived.endKey), 'c\x00');
  assert.equal(regions.length, 2);
  assert.equal(str(regions[1]!.endKey), 'p');
});
