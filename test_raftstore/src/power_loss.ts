// Power loss for the mock cluster's stores. A process crash keeps the page cache, so every write
// survives it, synced or not; a machine losing power keeps only what was fsynced. LevelDB's
// promise is per database: a synced write makes it and every earlier write of that database
// durable, and nothing else is promised. This module keeps that promise and no more:
//
//   - every write of a live database is also recorded, in the order the writes completed;
//   - a synced write moves every recorded write before it, and itself, to the durable side: a
//     second LevelDB beside the live one (its "shadow"), which is written lazily, in batches;
//   - on power loss the live database is closed, replaced by a copy of its shadow, and the
//     writes not yet made durable are gone.
//
// Writes still in flight when power goes (issued, not yet completed) are dropped unless a later
// synced write completed: the store never counted on them either.
import { cp, rm } from 'node:fs/promises';
import { decodeKey, Engine, WriteBatch } from '@tskv/engine';

/** Copies a batch's operations (values included: the caller may reuse its buffers later). */
function copyBatch(b: WriteBatch): WriteBatch {
  const out = new WriteBatch();
  for (const op of WriteBatch.ops(b)) {
    const { cf, key } = decodeKey(op.key);
    if (op.type === 'put') out.put(cf, key, Uint8Array.from(op.value));
    else out.delete(cf, key);
  }
  return out;
}

/** Bytes of durable writes queued before they are copied to the shadow in one write. */
const FLUSH_BYTES = 1 << 20;

/** The durable side of one database: what a power loss leaves of it. */
export class PowerLossJournal {
  /** Completed writes not yet covered by a synced write: lost on power loss. */
  private unsynced: WriteBatch[] = [];
  /** Durable writes not yet copied to the shadow database. */
  private durable = new WriteBatch();
  private flushing: Promise<void> = Promise.resolve();
  /** Writes dropped by power losses so far, and their operations. */
  readonly lost = { writes: 0, ops: 0 };

  private constructor(
    readonly livePath: string,
    private shadow: Engine | null,
    private readonly shadowPath: string,
  ) {}

  /**
   * The journal of the database at `livePath`, whose shadow lives at `shadowPath`. The live
   * database must hold exactly what the shadow holds (both new, or just restored by powerLoss).
   */
  static async open(livePath: string, shadowPath: string): Promise<PowerLossJournal> {
    return new PowerLossJournal(livePath, await Engine.open(shadowPath, { sync: false }), shadowPath);
  }

  /** Records a write of the live database that has completed; `sync`: it was fsynced. */
  recordWrite(batch: WriteBatch, sync: boolean): void {
    this.unsynced.push(copyBatch(batch));
    if (!sync) return;
    for (const b of this.unsynced) this.durable.merge(b);
    this.unsynced = [];
    if (this.durable.byteSize >= FLUSH_BYTES) void this.flush();
  }

  /** Copies the durable writes queued so far to the shadow (in completion order). */
  private flush(): Promise<void> {
    const batch = this.durable;
    this.durable = new WriteBatch();
    const shadow = this.shadow;
    if (!shadow) throw new Error(`power-loss journal of ${this.livePath} is closed`);
    this.flushing = this.flushing.then(() => shadow.write(batch));
    return this.flushing;
  }

  /** Unsynced writes right now (for tests of the journal itself). */
  get unsyncedWrites(): number {
    return this.unsynced.length;
  }

  /**
   * The power goes: the live database (already closed by its user) is replaced by its durable
   * state. The journal stays usable for the database reopened at the same path.
   */
  async powerLoss(): Promise<{ writes: number; ops: number }> {
    const dropped = { writes: this.unsynced.length, ops: this.unsynced.reduce((n, b) => n + b.count, 0) };
    this.lost.writes += dropped.writes;
    this.lost.ops += dropped.ops;
    this.unsynced = [];
    await this.flush();
    await this.shadow!.close();
    this.shadow = null;
    await rm(this.livePath, { recursive: true, force: true });
    await cp(this.shadowPath, this.livePath, { recursive: true });
    this.shadow = await Engine.open(this.shadowPath, { sync: false });
    return dropped;
  }

  async close(): Promise<void> {
    if (!this.shadow) return;
    await this.flush();
    await this.shadow.close();
    this.shadow = null;
  }
}
