// Shared by the GC tests: raw MVCC entries on a MemStorage, the remaining versions of a key, a
// seeded PRNG, and the GC rule written again as plainly as possible (a model to compare with).
import {
  decodeKey,
  type Entry,
  encodeKey,
  type GcOptions,
  type GcRange,
  type GcStats,
  gcRange,
  type MemStorage,
  type Modify,
  parseWrite,
  serializeLock,
  serializeWrite,
  WriteKind,
} from '../src/index.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** A committed Put: value at EncodeKey(key, startTs), record at EncodeKey(key, commitTs). */
export function put(mem: MemStorage, key: string | Uint8Array, startTs: bigint, commitTs: bigint, value?: string): void {
  const k = typeof key === 'string' ? enc(key) : key;
  mem.set('default', encodeKey(k, startTs), enc(value ?? `v${commitTs}`));
  mem.set('write', encodeKey(k, commitTs), serializeWrite({ kind: WriteKind.Put, startTs }));
}

export function del(mem: MemStorage, key: string | Uint8Array, startTs: bigint, commitTs: bigint): void {
  const k = typeof key === 'string' ? enc(key) : key;
  mem.set('write', encodeKey(k, commitTs), serializeWrite({ kind: WriteKind.Delete, startTs }));
}

export function rollback(mem: MemStorage, key: string | Uint8Array, ts: bigint): void {
  const k = typeof key === 'string' ? enc(key) : key;
  mem.set('write', encodeKey(k, ts), serializeWrite({ kind: WriteKind.Rollback, startTs: ts }));
}

/** A prewritten, unresolved Put: lock and value. */
export function locked(mem: MemStorage, key: string, ts: bigint): void {
  mem.set('lock', enc(key), serializeLock({ primary: enc(key), ts, ttl: 10n, kind: WriteKind.Put }));
  mem.set('default', encodeKey(enc(key), ts), enc(`p${ts}`));
}

/** The write records of `key` left, newest first, as "commitTs:Kind/startTs". */
export function versions(mem: MemStorage, key: string | Uint8Array): string[] {
  const k = typeof key === 'string' ? enc(key) : key;
  const out: string[] = [];
  for (const [ek, v] of mem.entries('write')) {
    const d = decodeKey(ek);
    if (Buffer.compare(d.userKey, k) !== 0) continue;
    const w = parseWrite(v);
    out.push(`${d.ts}:${WriteKind[w.kind]}/${w.startTs}`);
  }
  return out;
}

/** The start timestamps of the values of `key` left, newest first. */
export function values(mem: MemStorage, key: string | Uint8Array): bigint[] {
  const k = typeof key === 'string' ? enc(key) : key;
  return mem
    .entries('default')
    .map(([ek]) => decodeKey(ek))
    .filter((d) => Buffer.compare(d.userKey, k) === 0)
    .map((d) => d.ts);
}

/** Runs gcRange over one snapshot, writing each batch as it comes; returns the batches and the stats. */
export async function runGc(
  mem: MemStorage,
  range: GcRange,
  safePoint: bigint,
  opts: GcOptions = {},
  afterBatch?: (modifies: readonly Modify[]) => Promise<void> | void,
): Promise<{ batches: Modify[][]; stats: GcStats }> {
  const reader = mem.reader();
  const batches: Modify[][] = [];
  const it = gcRange(reader, range, safePoint, opts);
  let r = await it.next();
  while (!r.done) {
    batches.push(r.value.modifies);
    await mem.write(r.value.modifies);
    await afterBatch?.(r.value.modifies);
    r = await it.next();
  }
  reader.close();
  return { batches, stats: r.value };
}

export const ALL: GcRange = { start: new Uint8Array(0), end: new Uint8Array(0) };

/** mulberry32: a small seeded PRNG, enough to replay a history from its seed. */
export function prng(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)]! };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * The GC rule, plainly: per user key, versions newest first; above the safe point kept; at or
 * below it, rollbacks dropped, the first other record kept if a Put (with its value) and dropped
 * if a Delete, every older one dropped with its value. Returns the write and default entries
 * expected after GC of `inRange` keys (others kept as they are).
 */
export function modelGc(
  write: Entry[],
  dflt: Entry[],
  safePoint: bigint,
  inRange: (userKey: Uint8Array) => boolean,
): { write: Set<string>; dflt: Set<string> } {
  const byKey = new Map<string, { ts: bigint; key: Uint8Array; kind: WriteKind; startTs: bigint; userKey: Uint8Array }[]>();
  for (const [k, v] of write) {
    const d = decodeKey(k);
    const w = parseWrite(v);
    const id = hex(d.userKey);
    if (!byKey.has(id)) byKey.set(id, []);
    byKey.get(id)!.push({ ts: d.ts, key: k, kind: w.kind, startTs: w.startTs, userKey: d.userKey });
  }
  const keepW = new Set(write.map(([k]) => hex(k)));
  const keepD = new Set(dflt.map(([k]) => hex(k)));
  for (const vs of byKey.values()) {
    if (!inRange(vs[0]!.userKey)) continue;
    vs.sort((x, y) => (x.ts > y.ts ? -1 : x.ts < y.ts ? 1 : 0));
    let visibleSeen = false;
    for (const v of vs) {
      if (v.ts > safePoint) continue;
      const drop = (): void => {
        keepW.delete(hex(v.key));
        if (v.kind === WriteKind.Put) keepD.delete(hex(encodeKey(v.userKey, v.startTs)));
      };
      if (visibleSeen || v.kind === WriteKind.Rollback) drop();
      else {
        visibleSeen = true;
        if (v.kind === WriteKind.Delete) drop();
      }
    }
  }
  return { write: keepW, dflt: keepD };
}

export function keySet(entries: Entry[]): Set<string> {
  return new Set(entries.map(([k]) => hex(k)));
}
