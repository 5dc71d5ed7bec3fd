// SplitCheckWorker: measures regions and finds split keys, off the raft worker's path. A check
// streams the region's range (memory stays bounded), sums key + value bytes over the data CFs,
// and picks a split key at every regionSplitSize bytes of the default CF; a region over
// regionMaxSize is split at those keys (TiKV's size policy). Results go back through a callback:
// the store asks the scheduler for ids and proposes the split (stale checks die on the epoch).

import type { Engines } from '@tskv/engine';
import type { metapb } from '@tskv/proto';
import PQueue from 'p-queue';
import type { StoreConfig } from './config.js';
import type { Logger } from './logger.js';

export interface SplitCheckResult {
  region: metapb.IRegion;
  size: number;
  keys: number;
  /** Empty: no split needed. */
  splitKeys: Uint8Array[];
}

/** At most this many split keys per check: a huge region splits over several checks. */
const MAX_SPLIT_KEYS = 16;

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
    const start = region.startKey ?? new Uint8Array(0);
    const end = region.endKey ?? new Uint8Array(0);
    const { regionMaxSize: max, regionSplitSize: splitSize } = this.cfg;
    let size = 0;
    let keys = 0;
    let chunk = 0;
    const splitKeys: Uint8Array[] = [];
    for await (const [k, v] of this.engines.kv.scan('default', start, end)) {
      if (this.stopped) break;
      // The key that makes the current piece reach splitSize starts the next region.
      if (chunk >= splitSize && splitKeys.length < MAX_SPLIT_KEYS) {
        splitKeys.push(Uint8Array.from(k));
        chunk = 0;
      }
      const n = k.length + v.length;
      size += n;
      chunk += n;
      keys++;
      if (splitKeys.length >= MAX_SPLIT_KEYS && size > max) break;
    }
    for (const cf of ['lock', 'write'] as const) {
      for await (const [k, v] of this.engines.kv.scan(cf, start, end)) {
        size += k.length + v.length;
        keys++;
        if (size > 4 * max) break; // enough to know; the number is approximate anyway
      }
    }
    return { region, size, keys, splitKeys: size > max ? splitKeys : [] };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    await this.queue.onIdle();
  }
}
