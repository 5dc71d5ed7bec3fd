// SplitCheckWorker: measures regions and finds split keys, off the raft worker's path. A check
// streams the region's ranges (memory stays bounded), sums key + value bytes over the data CFs,
// and, for a region over regionMaxSize, picks a split key at about every regionSplitSize bytes
// (TiKV's size policy). Results go back through a callback:
// the store asks the scheduler for ids and proposes the split (stale checks die on the epoch).

import { type CfName, DATA_CFS, type Engines } from '@tskv/engine';
import type { metapb } from '@tskv/proto';
import { decodeUserKey } from '@tskv/txn';
import { compareBytes } from '@tskv/util';
import PQueue from 'p-queue';
import type { StoreConfig } from './config.js';
import type { Logger } from './logger.js';
import { isEncodedCf, regionCfRange } from './region_ranges.js';

export interface SplitCheckResult {
  region: metapb.IRegion;
  size: number;
  keys: number;
  /** Empty: no split needed. */
  splitKeys: Uint8Array[];
}

/** At most this many split keys per check: a huge region splits over several checks. */
const MAX_SPLIT_KEYS = 16;

/** The CFs split keys are picked in: one record per key (raw) or per key version (MVCC). */
const SOURCE_CFS: readonly CfName[] = ['default', 'txn_default', 'txn_write'];

/** The user key of an MVCC-encoded key, or null if it does not decode (never a split key). */
function userKeyOf(encoded: Uint8Array): Uint8Array | null {
  try {
    return decodeUserKey(encoded);
  } catch {
    return null;
  }
}

export class SplitCheckWorker {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly pending = new Set<number>();
  private stopped = false;
  checks = 0;

  constructor(
    private readonly cfg: StoreConfig,
    private readonly engines: Engines,
    private readonly logger: Logger,
    private readonly onResult: (r: SplitCheckResult) => void,
  ) {}

  /** Queues a check of the region (once: a region already queued is not queued again). */
  schedule(region: metapb.IRegion): void {
    const id = region.id!;
    if (this.stopped || this.pending.has(id)) return;
    this.pending.add(id);
    void this.queue.add(async () => {
      try {
        if (this.stopped) return;
        const r = await this.check(region);
        this.checks++;
        if (!this.stopped) this.onResult(r);
      } catch (e) {
        if (!this.stopped) this.logger.warn('split check failed', { regionId: id, err: String(e) });
      } finally {
        this.pending.delete(id);
      }
    });
  }

  private async check(region: metapb.IRegion): Promise<SplitCheckResult> {
    const { regionMaxSize: max, regionSplitSize: splitSize } = this.cfg;
    const sizes = new Map<CfName, number>();
    let size = 0;
    let keys = 0;
    for (const cf of DATA_CFS) {
      const { start, end } = regionCfRange(cf, region);
      let n = 0;
      for await (const [k, v] of this.engines.kv.scan(cf, start, end)) {
        if (this.stopped) break;
        n += k.length + v.length;
        keys++;
        if (size + n > 4 * max) break; // enough to know; the number is approximate anyway
      }
      sizes.set(cf, n);
      size += n;
    }
    if (size <= max || this.stopped) return { region, size, keys, splitKeys: [] };
    // The pieces are cut along the biggest of the CFs that hold one record per key version,
    // each piece's share of it standing for its share of the whole region.
    const source = SOURCE_CFS.reduce((a, b) => ((sizes.get(b) ?? 0) > (sizes.get(a) ?? 0) ? b : a));
    const share = (sizes.get(source) ?? 0) / size;
    const splitKeys = await this.splitKeys(region, source, Math.max(1, splitSize * share));
    return { region, size, keys, splitKeys };
  }

  /**
   * A split key every `pieceBytes` of `cf`: the user key of the record that makes the current
   * piece reach it starts the next region. A split key is always a user key (decoded from an
   * MVCC-encoded CF), so every version of a key and its lock stay in one region.
   */
  private async splitKeys(region: metapb.IRegion, cf: CfName, pieceBytes: number): Promise<Uint8Array[]> {
    const { start, end } = regionCfRange(cf, region);
    const regionStart = region.startKey ?? new Uint8Array(0);
    const out: Uint8Array[] = [];
    let chunk = 0;
    for await (const [k, v] of this.engines.kv.scan(cf, start, end)) {
      if (this.stopped || out.length >= MAX_SPLIT_KEYS) break;
      if (chunk >= pieceBytes) {
        const user = isEncodedCf(cf) ? userKeyOf(k) : Uint8Array.from(k);
        const last = out.length > 0 ? out[out.length - 1]! : regionStart;
        // The versions of one user key are contiguous: cut at the first key after them.
        if (user && compareBytes(user, last) > 0) {
          out.push(user);
          chunk = 0;
        }
      }
      chunk += k.length + v.length;
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    await this.queue.onIdle();
  }
}
