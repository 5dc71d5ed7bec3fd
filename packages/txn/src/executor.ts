// TxnExecutor runs the commands over a TxnStorage the way a store runs them:
//   write command: validate request → latch its keys → snapshot → command → validation hook
//                  → write the batch → release the latches (on every path, failures included);
//   read command:  snapshot → command (no latches: a snapshot is consistent on its own).
// The snapshot is taken after latching, so no write to a latched key lands between the
// command's checks and its write. Storage failures (reader, write; under raft a region error)
// reject the returned promise after the cleanup; the store reports them as region_error.
import {
  batchRollbackKeys,
  type CommandResult,
  checkTxnStatusKeys,
  commitKeys,
  findTxnLocks,
  invalidRequest,
  kvBatchRollback,
  kvCheckTxnStatus,
  kvCommit,
  kvGet,
  kvPrewrite,
  kvResolveLock,
  kvScan,
  prewriteKeys,
  validateBatchRollback,
  validateCheckTxnStatus,
  validateCommit,
  validatePrewrite,
  validateResolveLock,
} from './commands.js';
import { Latches } from './latches.js';
import type { Modify, MvccReader, TxnStorage } from './storage.js';
import {
  Action,
  type BatchRollbackRequest,
  type BatchRollbackResponse,
  type CheckTxnStatusRequest,
  type CheckTxnStatusResponse,
  type CommitRequest,
  type CommitResponse,
  type GetRequest,
  type GetResponse,
  type PrewriteRequest,
  type PrewriteResponse,
  type ResolveLockRequest,
  type ResolveLockResponse,
  type ScanRequest,
  type ScanResponse,
} from './types.js';

/**
 * Called with a write command's modifications and the keys it latched, before they are written
 * (also when there are none). A throw fails the command: nothing is written. Tests use it to
 * check that a command writes only latched keys.
 */
export type ValidationHook = (modifies: readonly Modify[], latched: readonly Uint8Array[]) => void;

export interface TxnExecutorOptions {
  /** Shared by every executor of a store (default: a new set). */
  latches?: Latches;
  validate?: ValidationHook;
}

export class TxnExecutor {
  readonly storage: TxnStorage;
  readonly latches: Latches;
  validate: ValidationHook | undefined;

  constructor(storage: TxnStorage, opts: TxnExecutorOptions = {}) {
    this.storage = storage;
    this.latches = opts.latches ?? new Latches();
    this.validate = opts.validate;
  }

  get(req: GetRequest): Promise<GetResponse> {
    return this.#read((r) => kvGet(r, req));
  }

  scan(req: ScanRequest): Promise<ScanResponse> {
    return this.#read((r) => kvScan(r, req));
  }

  async prewrite(req: PrewriteRequest): Promise<PrewriteResponse> {
    const bad = validatePrewrite(req);
    if (bad !== undefined) return { errors: [invalidRequest(bad)] };
    return this.#write(prewriteKeys(req), (r) => kvPrewrite(r, req));
  }

  async commit(req: CommitRequest): Promise<CommitResponse> {
    const bad = validateCommit(req);
    if (bad !== undefined) return { error: invalidRequest(bad) };
    return this.#write(commitKeys(req), (r) => kvCommit(r, req));
  }

  async batchRollback(req: BatchRollbackRequest): Promise<BatchRollbackResponse> {
    const bad = validateBatchRollback(req);
    if (bad !== undefined) return { error: invalidRequest(bad) };
    return this.#write(batchRollbackKeys(req), (r) => kvBatchRollback(r, req));
  }

  async checkTxnStatus(req: CheckTxnStatusRequest): Promise<CheckTxnStatusResponse> {
    const bad = validateCheckTxnStatus(req);
    if (bad !== undefined) return { lockTtl: 0n, commitVersion: 0n, action: Action.NoAction, error: invalidRequest(bad) };
    return this.#write(checkTxnStatusKeys(req), (r) => kvCheckTxnStatus(r, req));
  }

  /**
   * Finds the transaction's locks in a first snapshot, latches their keys, then resolves those
   * keys over a fresh snapshot (a lock gone meanwhile is handled as the commit or rollback of a
   * key without a lock).
   */
  async resolveLock(req: ResolveLockRequest): Promise<ResolveLockResponse> {
    const bad = validateResolveLock(req);
    if (bad !== undefined) return { error: invalidRequest(bad) };
    const locks = await this.#read((r) => findTxnLocks(r, req.startVersion));
    const keys = locks.map((l) => l.key);
    if (keys.length === 0) return {};
    return this.#write(keys, (r) => kvResolveLock(r, req, keys));
  }

  /** Runs `fn` over a new snapshot and closes it, whatever happens (a close failure after a failure of `fn` is dropped). */
  async #read<T>(fn: (reader: MvccReader) => Promise<T>): Promise<T> {
    const reader = await this.storage.reader();
    let result: T;
    try {
      result = await fn(reader);
    } catch (err) {
      try {
        await reader.close();
      } catch {
        // The first failure is the one to report.
      }
      throw err;
    }
    await reader.close();
    return result;
  }

  async #write<R>(keys: Uint8Array[], run: (reader: MvccReader) => Promise<CommandResult<R>>): Promise<R> {
    await this.latches.acquire(keys);
    try {
      const { response, modifies } = await this.#read(run);
      this.validate?.(modifies, keys);
      if (modifies.length > 0) await this.storage.write(modifies);
      return response;
    } finally {
      this.latches.release(keys);
    }
  }
}
