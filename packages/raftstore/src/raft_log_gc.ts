// RaftLogGcWorker: deletes compacted raft log entries in the background. A CompactLog moves the
// truncated index when it is applied (synchronously, with the kv write that records it); the
// entries below it are dead from then on and are removed here, off the raft worker's path.
// Deleting is idempotent, so a task lost in a crash is redone by the sweep at the next start.

import { type Engines, raftLogKey } from '@tskv/engine';
import PQueue from 'p-queue';
import type { Logger } from './logger.js';

export interface RaftLogGcStats {
  tasks: number;
  deletedEntries: number;
  failures: number;
}

export class RaftLogGcWorker {
  private readonly queue = new PQueue({ concurrency: 1 });
  readonly stats: RaftLogGcStats = { tasks: 0, deletedEntries: 0, failures: 0 };
  private stopped = false;

  constructor(
    private readonly engines: Engines,
    private readonly logger: Logger,
  ) {}

  /** Deletes the log entries of a region with from <= index < to. */
  schedule(regionId: number, from: number, to: number): void {
    if (this.stopped || to <= from) return;
    this.stats.tasks++;
    void this.queue.add(async () => {
      if (this.stopped) return;
      try {
        const n = await this.engines.raft.deleteRange('raft', raftLogKey(regionId, from), raftLogKey(regionId, to));
        this.stats.deletedEntries += n;
        this.logger.debug('raft log gc', { regionId, from, to, deleted: n });
      } catch (e) {
        // Not fatal: the entries are dead either way, and the next start sweeps them again.
        this.stats.failures++;
        this.logger.warn('raft log gc failed', { regionId, from, to, err: String(e) });
      }
    });
  }

  /** Resolves when every scheduled deletion has finished (tests and shutdown). */
  async idle(): Promise<void> {
    await this.queue.onIdle();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.clear();
    await this.queue.onIdle();
  }
}
