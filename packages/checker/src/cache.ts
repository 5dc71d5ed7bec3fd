// The memo of visited search configurations: (set of linearized ops, model state).
//
// Two configurations with the same linearized set and the same state have the same future (the
// remaining ops and the state they apply to are identical), so a configuration reached a second
// time cannot lead anywhere the first did not: it is pruned. This is Lowe's improvement to
// Wing & Gong and what makes the search practical.
//
// The linearized set is a bitset over the partition's ops. To avoid hashing the whole bitset on
// every lookup it carries an incremental Zobrist hash: each op has two random 32-bit words and
// the set's hash is the XOR of its members' words, updated in O(1) when an op is (un)linearized.
// A hit is always confirmed by comparing the bitsets word by word (and the states with
// Model.equal when the model's key is only a fingerprint), so hash collisions cost time, never
// correctness.

/** A splitmix32 generator: deterministic, so a search is reproducible run to run. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class LinearizedSet {
  readonly bits: Uint32Array;
  private readonly z1: Uint32Array;
  private readonly z2: Uint32Array;
  h1 = 0;
  h2 = 0;

  constructor(n: number) {
    this.bits = new Uint32Array(Math.ceil(n / 32) || 1);
    this.z1 = new Uint32Array(n);
    this.z2 = new Uint32Array(n);
    const rnd = splitmix32(0x5eed ^ n);
    for (let i = 0; i < n; i++) {
      this.z1[i] = rnd();
      this.z2[i] = rnd();
    }
  }

  /** Toggles op i in or out (XOR makes set and clear the same operation on the hash). */
  toggle(i: number): void {
    this.bits[i >>> 5]! ^= 1 << (i & 31);
    this.h1 ^= this.z1[i]!;
    this.h2 ^= this.z2[i]!;
  }
}

interface CacheEntry<S> {
  bits: Uint32Array;
  state: S;
}

function sameBits(a: Uint32Array, b: Uint32Array): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ConfigCache<S> {
  private readonly map = new Map<string, CacheEntry<S>[]>();
  size = 0;

  constructor(private readonly equal: ((a: S, b: S) => boolean) | undefined) {}

  /** Adds (set, state) under the model's state key; false if it was already there (prune). */
  add(set: LinearizedSet, stateKey: string, state: S): boolean {
    const k = `${stateKey}\u0001${set.h1 >>> 0}:${set.h2 >>> 0}`;
    let bucket = this.map.get(k);
    if (bucket === undefined) {
      this.map.set(k, (bucket = []));
    } else {
      for (const e of bucket) {
        if (sameBits(e.bits, set.bits) && (this.equal === undefined || this.equal(e.state, state))) return false;
      }
    }
    bucket.push({ bits: set.bits.slice(), state });
    this.size++;
    return true;
  }
}
