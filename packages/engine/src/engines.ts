import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine, EngineError, type EngineOpenOptions } from './engine.js';

/**
 * The two databases of a store, as in TinyKV: `raft` holds the raft logs and raft local states
 * (writes must be synced: they carry votes, terms and acked entries), `kv` holds the data CFs,
 * apply states and region local states (apply writes may be async: they replay from the log).
 */
export class Engines {
  private constructor(
    readonly kv: Engine,
    readonly raft: Engine,
    readonly dataDir: string,
  ) {}

  /**
   * Opens `dataDir/kv` and `dataDir/raft`, creating them if missing. `sync` (default true) is
   * the default of both engines' writes; pass `{ sync }` per write to override.
   */
  static async open(dataDir: string, opts: EngineOpenOptions = {}): Promise<Engines> {
    try {
      await mkdir(dataDir, { recursive: true });
    } catch (err) {
      throw new EngineError('IO_ERROR', `engines ${dataDir}: create directory failed: ${(err as Error).message}`, dataDir, 'open', {
        cause: err,
      });
    }
    const kv = await Engine.open(join(dataDir, 'kv'), opts);
    let raft: Engine;
    try {
      raft = await Engine.open(join(dataDir, 'raft'), opts);
    } catch (err) {
      await kv.close().catch(() => {});
      throw err;
    }
    return new Engines(kv, raft, dataDir);
  }

  /** Closes both engines (both are attempted; the first failure is thrown). Idempotent. */
  async close(): Promise<void> {
    const results = await Promise.allSettled([this.kv.close(), this.raft.close()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }
}
