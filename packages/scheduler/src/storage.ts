// SchedulerStorage: the scheduler's persistent metadata in one LevelDB (through @tskv/engine,
// CF `default`, keys below). Everything else (leaders, stats, heartbeat times) is volatile.
//
//   key                     value
//   meta/version            u64: layout version (1)
//   meta/cluster_id         u64
//   meta/bootstrapped       u64: 1 once bootstrapped (written with the first store and region)
//   meta/alloc_id           u64: ids below this may have been handed out (the allocator's high-water mark)
//   meta/tso                u64: wall-clock ms no timestamp handed out has reached (the window's end)
//   meta/gc_safe_point      u64 (big-endian, the full 64 bits): the GC safe point; absent = 0
//   store/<u64 id>          metapb.Store
//   region/<u64 id>         metapb.Region (the latest known epoch)
//
// Writes go through one FIFO queue so they reach LevelDB in the order they were made (two
// concurrent batches could otherwise land in either order, and an older region view could win).
// Writes that promise durability (bootstrap, ids, the TSO window, the GC safe point, stores,
// split reports) are synced; region views from heartbeats are not (a crash loses at most the
// last ones, which the next heartbeats report again).
import { join } from 'node:path';
import { decodeU64, Engine, EngineError, encodeU64, WriteBatch } from '@tskv/engine';
import { metapb } from '@tskv/proto';

const LAYOUT_VERSION = 1;
const enc = new TextEncoder();
const K = {
  version: enc.encode('meta/version'),
  clusterId: enc.encode('meta/cluster_id'),
  bootstrapped: enc.encode('meta/bootstrapped'),
  allocId: enc.encode('meta/alloc_id'),
  tso: enc.encode('meta/tso'),
  gcSafePoint: enc.encode('meta/gc_safe_point'),
  storePrefix: enc.encode('store/'),
  regionPrefix: enc.encode('region/'),
};

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The end of the range of keys starting with prefix (the prefix with its last byte incremented). */
function prefixEnd(p: Uint8Array): Uint8Array {
  const out = Uint8Array.from(p);
  out[out.length - 1]!++;
  return out;
}

/** A u64 beyond 2^53 (the GC safe point is a TSO timestamp): 8 bytes big-endian from a bigint. */
function encodeBigU64(v: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

function decodeBigU64(v: Uint8Array | undefined): bigint {
  if (v === undefined) return 0n;
  if (v.length !== 8) throw new Error(`corrupt scheduler metadata: a u64 of ${v.length} bytes`);
  return new DataView(v.buffer, v.byteOffset, v.byteLength).getBigUint64(0);
}

const storeKey = (id: number): Uint8Array => concat(K.storePrefix, encodeU64(id));
const regionKey = (id: number): Uint8Array => concat(K.regionPrefix, encodeU64(id));

export interface LoadedMeta {
  clusterId: number | null;
  bootstrapped: boolean;
  allocEnd: number;
  tsoEnd: number;
  /** The GC safe point, 0n if never set. */
  gcSafePoint: bigint;
  stores: metapb.Store[];
  regions: metapb.Region[];
}

export class SchedulerStorage {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly engine: Engine,
  ) {}

  /** Opens (creating) the database under dataDir; fails with the engine's LOCKED error if another scheduler has it open. */
  static async open(dataDir: string): Promise<SchedulerStorage> {
    const path = join(dataDir, 'meta');
    let engine: Engine;
    try {
      engine = await Engine.open(path, { sync: true });
    } catch (e) {
      if (e instanceof EngineError && e.code === 'LOCKED')
        throw new Error(`data dir ${dataDir} is in use (another scheduler running on it?): ${e.message}`, { cause: e });
      throw e;
    }
    const s = new SchedulerStorage(path, engine);
    const v = await engine.get('default', K.version);
    if (v === undefined) await s.write((b) => b.put('default', K.version, encodeU64(LAYOUT_VERSION)), true);
    else if (decodeU64(v) !== LAYOUT_VERSION) {
      await engine.close();
      throw new Error(`scheduler data in ${path} has layout version ${decodeU64(v)}, this build reads ${LAYOUT_VERSION}`);
    }
    return s;
  }

  async load(): Promise<LoadedMeta> {
    const e = this.engine;
    const u64 = async (k: Uint8Array): Promise<number | null> => {
      const v = await e.get('default', k);
      return v === undefined ? null : decodeU64(v);
    };
    const stores = (await e.collect('default', K.storePrefix, prefixEnd(K.storePrefix))).map(([, v]) => metapb.Store.decode(v));
    const regions = (await e.collect('default', K.regionPrefix, prefixEnd(K.regionPrefix))).map(([, v]) => metapb.Region.decode(v));
    return {
      clusterId: await u64(K.clusterId),
      bootstrapped: (await u64(K.bootstrapped)) === 1,
      allocEnd: (await u64(K.allocId)) ?? 0,
      tsoEnd: (await u64(K.tso)) ?? 0,
      gcSafePoint: decodeBigU64(await e.get('default', K.gcSafePoint)),
      stores,
      regions,
    };
  }

  /** Queues a batch built by `fill`; resolves when it is written (on disk if `sync`). */
  write(fill: (b: WriteBatch) => void, sync: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new Error('scheduler storage is closed'));
    const b = new WriteBatch();
    fill(b);
    const p = this.queue.then(() => this.engine.write(b, { sync }));
    this.queue = p.catch(() => {});
    return p;
  }

  saveClusterId(id: number): Promise<void> {
    return this.write((b) => b.put('default', K.clusterId, encodeU64(id)), true);
  }

  saveAllocEnd(end: number): Promise<void> {
    return this.write((b) => b.put('default', K.allocId, encodeU64(end)), true);
  }

  saveTsoEnd(ms: number): Promise<void> {
    return this.write((b) => b.put('default', K.tso, encodeU64(ms)), true);
  }

  saveGcSafePoint(safePoint: bigint): Promise<void> {
    return this.write((b) => b.put('default', K.gcSafePoint, encodeBigU64(safePoint)), true);
  }

  /** The first store and region and the bootstrapped flag, atomically. */
  saveBootstrap(store: metapb.IStore, region: metapb.IRegion): Promise<void> {
    return this.write((b) => {
      b.put('default', storeKey(Number(store.id)), metapb.Store.encode(store).finish());
      b.put('default', regionKey(Number(region.id)), metapb.Region.encode(region).finish());
      b.put('default', K.bootstrapped, encodeU64(1));
    }, true);
  }

  saveStore(store: metapb.IStore): Promise<void> {
    return this.write((b) => b.put('default', storeKey(Number(store.id)), metapb.Store.encode(store).finish()), true);
  }

  /** Region views to keep and ids to forget (regions replaced by the ones put), atomically. */
  saveRegions(put: metapb.IRegion[], del: number[], sync: boolean): Promise<void> {
    return this.write((b) => {
      for (const id of del) b.delete('default', regionKey(id));
      for (const r of put) b.put('default', regionKey(Number(r.id)), metapb.Region.encode(r).finish());
    }, sync);
  }

  /** Resolves when every queued write is done. */
  async flush(): Promise<void> {
    await this.queue;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.engine.close();
  }
}
