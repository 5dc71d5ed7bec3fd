// A store's snapshot files beyond a single peer: the stream endpoints a transport calls (the
// chunks of a snapshot sent, the chunks of one received) and the GC of files nobody uses.

import { isNotFound } from './snap/fsutil.js';
import {
  receiveSnapshotChunks,
  type SnapKey,
  SnapshotCorruptError,
  SnapshotNotFoundError,
  sendSnapshotChunks,
  snapKeyOf,
} from './snap/index.js';
import type { StoreContext } from './store_context.js';
import type { RaftMessage, SnapshotChunk } from './transport.js';

export class StoreSnapshots {
  constructor(private readonly ctx: Pick<StoreContext, 'cfg' | 'router' | 'snapMgr' | 'logger'>) {}

  /**
   * The chunks of a MsgSnapshot this store sends: the message, then its files. If the files are
   * gone, the peer drops that snapshot so that raft's next request generates a new one (otherwise
   * it would offer the same missing snapshot to every follower until its log moves on, and a
   * region whose quorum needs that follower would never move on).
   */
  async *chunks(msg: RaftMessage): AsyncGenerator<SnapshotChunk> {
    try {
      yield* sendSnapshotChunks(this.ctx.snapMgr, msg, { chunkBytes: this.ctx.cfg.snapChunkBytes });
    } catch (e) {
      // Damaged on disk (the sender checks every file's checksum as it reads it) is handled like
      // missing: its files are removed, the snapshot dropped and generated again.
      if (e instanceof SnapshotNotFoundError || e instanceof SnapshotCorruptError || isNotFound(e)) {
        const { term, index } = snapKeyOf(msg);
        this.ctx.logger.warn('snapshot files missing or damaged: it will be generated again', {
          regionId: msg.regionId,
          term,
          index,
          err: String(e),
        });
        if (msg.regionId) this.ctx.router.send(msg.regionId, { kind: 'snapMissing', term, index });
      }
      throw e;
    }
  }

  /** Receives a snapshot stream: its MsgSnapshot, once its files are complete and verified. */
  receive(chunks: AsyncIterable<SnapshotChunk>): Promise<RaftMessage> {
    return receiveSnapshotChunks(this.ctx.snapMgr, chunks);
  }

  /**
   * Deletes snapshot files nobody uses: not being sent, received or applied, and not current.
   * What is current is asked at each file, not once before the scan: a snapshot generated during
   * the GC's awaits becomes its peer's current one (and while the peer is still generating, the
   * finished files wait in the mailbox's snapGenerated). Deleting it would leave the peer handing
   * out a snapshot whose files are gone.
   */
  async collectGarbage(): Promise<void> {
    const wanted = (key: SnapKey): boolean => {
      const g = this.ctx.router.get(key.regionId)?.storage.genState;
      if (g?.status === 'generating') return true;
      return g?.status === 'ready' && g.snap.metadata.term === key.term && g.snap.metadata.index === key.index;
    };
    try {
      await this.ctx.snapMgr.gc((kind, key) => kind === 'gen' && wanted(key));
    } catch (e) {
      this.ctx.logger.warn('snapshot gc failed', { err: String(e) });
    }
  }
}
