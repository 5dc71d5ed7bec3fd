// Where a region's data lies per CF (region_ranges.ts): for every user key and timestamp, an
// MVCC-encoded key is in a region's txn_default/txn_write range exactly when its user key is in
// the region, also for boundaries and keys that are prefixes of each other, with 0x00 and 0xff
// bytes; raw CFs and txn_lock compare raw keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeKey } from '@tskv/txn';
import { envSeed, keyInRegion, Prng } from '@tskv/util';
import { keyInRegionCf, regionCfRange } from '../src/region_ranges.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

test('an encoded key is in a region exactly when its user key is (randomized)', () => {
  const seed = envSeed('RANGES_TEST_SEED');
  console.log(`# seed=${seed} (rerun with RANGES_TEST_SEED=${seed})`);
  const rng = new Prng(seed);
  // Short keys over a tiny alphabet: prefixes, equal keys and the 8-byte group edge all occur.
  const alphabet = [0x00, 0x01, 0x6d, 0xfe, 0xff];
  const key = (max: number): Uint8Array => b(...Array.from({ length: rng.range(0, max) }, () => rng.pick(alphabet)));
  const tss = [0n, 1n, 1n << 60n, (1n << 64n) - 1n];
  for (let i = 0; i < 3000; i++) {
    let s = key(10);
    let e = rng.range(0, 4) === 0 ? new Uint8Array(0) : key(10);
    if (e.length > 0 && Buffer.compare(s, e) >= 0) [s, e] = [e, s];
    if (e.length > 0 && Buffer.compare(s, e) >= 0) continue;
    const region = { id: 1, startKey: s, endKey: e };
    const k = key(10);
    const want = keyInRegion(k, region);
    for (const ts of tss) {
      for (const cf of ['txn_default', 'txn_write'] as const) {
        assert.equal(
          keyInRegionCf(cf, encodeKey(k, ts), region),
          want,
          `seed ${seed}: ${Buffer.from(k).toString('hex')}@${ts} in [${Buffer.from(s).toString('hex')}, ${Buffer.from(e).toString('hex')})`,
        );
      }
    }
    for (const cf of ['default', 'lock', 'write', 'txn_lock'] as const) assert.equal(keyInRegionCf(cf, k, region), want);
  }
});

test('a boundary that is a longer key than a user key: the raw order of encoded bytes would misplace it', () => {
  // User key 'm' is in [_, 'm\0'); its encoded bytes 'm\0\0…' sort after 'm\0' as raw bytes.
  const left = { id: 1, startKey: new Uint8Array(0), endKey: b(0x6d, 0x00) };
  const right = { id: 2, startKey: b(0x6d, 0x00), endKey: new Uint8Array(0) };
  const v = encodeKey(b(0x6d), 7n);
  assert.equal(keyInRegion(v, left), false, 'raw comparison gets it wrong');
  assert.equal(keyInRegionCf('txn_write', v, left), true);
  assert.equal(keyInRegionCf('txn_write', v, right), false);
  assert.deepEqual(
    regionCfRange('txn_write', { id: 3 }),
    { start: new Uint8Array(0), end: new Uint8Array(0) },
    'unbounded stays unbounded',
  );
});
