// The memo of visited search configurations: (set of linearized ops, model state).
//
// Two configurations with the same linearized set and the same state have the same future, so a
// configuration reached a second time is pruned: Lowe's improvement to Wing & Gong, and what
// makes the search practical.
//
// Unknown ops strengthen this into dominance. An op with an unknown outcome is optional (the
// search succeeds once every 'ok' op is linearized) and never constrains real-time order (its
// return is at +Infinity). So configuration A = (L, s) dominates B = (L', s) when both linearized
// the same 'ok' ops and A's linearized unknown ops are a subset of B's: any way to finish from B
// also finishes from A (the extra unknown ops of B simply never happen). B is pruned if a
// dominating A was visited. Why that is sound, even when A is still on the search path: among
// the visited configurations that can still succeed, take one, C, with the shortest way to
// finish; its first step leads to C1, which the search tries; C1 is visited, or pruned because a
// visited A dominates it, and either way a visited configuration finishes in fewer steps than C:
// a contradiction unless C is itself finished. Without this, k harmless unknown ops (say, deletes
// that never happened but are absorbed by the next put) multiply the states by up to 2^k.
//
// The linearized set is two bitsets, one over the 'ok' ops (numbered in call order) and one over
// the unknown ops. A cached copy of the 'ok' part keeps only the words between the first word not
// yet full and the last word not empty: every op called long ago is linearized and every op not
// yet called is not, so that window is about the number of concurrent ops, and a cache insert
// copies a few words instead of n/32 (which made 50 000-op partitions crawl). Unknown ops may
// stay unlinearized forever, which is why they are kept apart (they would pin the window open);
// their bitset is copied whole, u/32 words. A Zobrist hash over the 'ok' ops (two random 32-bit
// words per op, XORed in and out in O(1)) picks the bucket; unknown ops are not hashed, so
// configurations that dominate each other share one. Hits are confirmed exactly (bitsets, and
// Model.equal when the model's key is only a fingerprint): collisions cost time, never correctness.
import { splitmix32 } from '@tskv/util';

export class LinearizedSet {
  /** 'ok' ops: bit k of the k-th 'ok' op in call order. */
  readonly ok: Uint32Array;
  /** Unknown ops: bit k of the k-th unknown op. */
  readonly unknown: Uint32Array;
  /** First word of `ok` not all ones, last word not zero (-1: none): the window a copy keeps. */
  lo = 0;
  hi = -1;
  h1 = 0;
  h2 = 0;
  /** For op i (an index into the search's op array): its index within its own bitset. */
  private readonly slot: Int32Array;
  private readonly isOk: readonly boolean[];
  private readonly z1: Uint32Array;
  private readonly z2: Uint32Array;

  /** `isOk[i]` for each op i, ops in call order. */
  constructor(isOk: readonly boolean[]) {
    const n = isOk.length;
    this.isOk = isOk;
    this.slot = new Int32Array(n);
    let nOk = 0;
    let nUnknown = 0;
    for (let i = 0; i < n; i++) this.slot[i] = isOk[i] ? nOk++ : nUnknown++;
    this.ok = new Uint32Array(Math.ceil(nOk / 32) + 1); // +1: a full set still has a non-full word
    this.unknown = new Uint32Array(Math.ceil(nUnknown / 32));
    this.z1 = new Uint32Array(nOk);
    this.z2 = new Uint32Array(nOk);
    // Seeded: the buckets, and so a search's cost, are the same run to run.
    const rnd = splitmix32(0x5eed ^ n);
    for (let k = 0; k < nOk; k++) {
      this.z1[k] = rnd();
      this.z2[k] = rnd();
    }
  }

  has(i: number): boolean {
    const k = this.slot[i]!;
    return ((this.isOk[i] ? this.ok : this.unknown)[k >>> 5]! & (1 << (k & 31))) !== 0;
  }

  /** Toggles op i in or out (XOR makes set and clear the same operation on the hash). */
  toggle(i: number): void {
    const k = this.slot[i]!;
    const w = k >>> 5;
    const bit = 1 << (k & 31);
    if (!this.isOk[i]) {
      this.unknown[w]! ^= bit;
      return;
    }
    const words = this.ok;
    words[w]! ^= bit;
    this.h1 ^= this.z1[k]!;
    this.h2 ^= this.z2[k]!;
    if (words[w]! & bit) {
      if (w > this.hi) this.hi = w;
      while (words[this.lo] === 0xffffffff) this.lo++;
    } else {
      if (w < this.lo) this.lo = w;
      while (this.hi >= 0 && words[this.hi] === 0) this.hi--;
    }
  }
}

interface CacheEntry<S> {
  lo: number;
  /** ok[lo..hi] (empty when hi < lo: nothing beyond the full words). */
  window: Uint32Array;
  unknown: Uint32Array;
  state: S;
}

/** Does the visited entry dominate the current set: the same 'ok' ops, and a subset of its unknown ops. */
function dominates<S>(e: CacheEntry<S>, set: LinearizedSet): boolean {
  const len = set.hi >= set.lo ? set.hi - set.lo + 1 : 0;
  if (e.lo !== set.lo || e.window.length !== len) return false;
  const ok = set.ok;
  for (let i = 0; i < len; i++) if (e.window[i] !== ok[set.lo + i]) return false;
  const u = set.unknown;
  for (let i = 0; i < u.length; i++) if ((e.unknown[i]! & ~u[i]!) !== 0) return false;
  return true;
}

export class ConfigCache<S> {
  private readonly map = new Map<string, CacheEntry<S>[]>();
  size = 0;

  constructor(private readonly equal: ((a: S, b: S) => boolean) | undefined) {}

  /** Records (set, state); false if a visited configuration dominates it (prune). */
  add(set: LinearizedSet, stateKey: string, state: S): boolean {
    const k = `${stateKey}\u0001${set.h1 >>> 0}:${set.h2 >>> 0}`;
    let bucket = this.map.get(k);
    if (bucket === undefined) {
      bucket = [];
      this.map.set(k, bucket);
    } else {
      for (const e of bucket) {
        if (dominates(e, set) && (this.equal === undefined || this.equal(e.state, state))) return false;
      }
    }
    const window = set.hi >= set.lo ? set.ok.slice(set.lo, set.hi + 1) : new Uint32Array(0);
    bucket.push({ lo: set.lo, window, unknown: set.unknown.slice(), state });
    this.size++;
    return true;
  }
}
