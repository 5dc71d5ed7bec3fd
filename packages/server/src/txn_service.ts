// The seven transactional commands (KvGet … KvResolveLock) on this store: each request is
// checked (context, sizes), then run by @tskv/txn's executor over the request's region (see
// txn_storage.ts): reads over a snapshot at a read index, writes latched (one Latches for the
// whole store) until their single raft command is applied. Region errors go to `region_error`,
// malformed requests get the command's own error field; handlers never throw.
import type { errorpb, kvrpcpb, raft_cmdpb } from '@tskv/proto';
import type { Logger } from '@tskv/raftstore';
import type {
  KeyError,
  KvBatchRollbackRequest,
  KvBatchRollbackResponse,
  KvCheckTxnStatusRequest,
  KvCheckTxnStatusResponse,
  KvCommitRequest,
  KvCommitResponse,
  KvGetRequest,
  KvGetResponse,
  KvPrewriteRequest,
  KvPrewriteResponse,
  KvResolveLockRequest,
  KvResolveLockResponse,
  KvScanRequest,
  KvScanResponse,
} from '@tskv/rpc';
import { Action, Latches, TxnExecutor } from '@tskv/txn';
import { BadRequest, InputCheck, type InputLimits } from './input_limits.js';
import type { ServerMetrics } from './metrics.js';
import { isRegionError, regionErrorName, requestHeader } from './request_header.js';
import { RegionTxnStorage, StoreAnswer, type TxnStore } from './txn_storage.js';

export type TxnMethod = 'kvGet' | 'kvScan' | 'kvPrewrite' | 'kvCommit' | 'kvCheckTxnStatus' | 'kvBatchRollback' | 'kvResolveLock';

export interface TxnServiceOptions {
  metrics: ServerMetrics;
  logger: Logger;
  limits: InputLimits;
  /** The store, or why there is none to serve with (ServerIsBusy). */
  store: () => TxnStore | string;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class TxnService {
  /** One set of latches per store: two commands on one key never interleave their read-check-write. */
  readonly latches = new Latches();

  constructor(private readonly opts: TxnServiceOptions) {}

  kvGet(req: KvGetRequest): Promise<KvGetResponse> {
    return this.run(
      'kvGet',
      req,
      (c) => [c.key(req.key)],
      (x) => x.get(req),
      (error) => ({ error }),
      (r) => (r.value && !r.notFound ? [{ key: req.key, value: r.value }] : []),
    );
  }

  kvScan(req: KvScanRequest): Promise<KvScanResponse> {
    // The scan starts in this region and ends at its end: the client goes on in the next one.
    return this.run(
      'kvScan',
      req,
      (c) => [c.key(req.startKey, 'start key')],
      (x) => x.scan(req),
      (error) => ({ pairs: [], error }),
      (r) => r.pairs.filter((p) => !p.error),
    );
  }

  kvPrewrite(req: KvPrewriteRequest): Promise<KvPrewriteResponse> {
    return this.run(
      'kvPrewrite',
      req,
      (c) => {
        const ms = Array.isArray(req.mutations) ? req.mutations : [];
        c.batch(ms.length, 'mutations');
        c.key(req.primaryLock, 'primary lock');
        return ms.map((m, i) => {
          c.value(m?.value, `value ${i}`);
          return c.key(m?.key, `key ${i}`);
        });
      },
      (x) => x.prewrite(req),
      (error) => ({ errors: error ? [error] : [] }),
    );
  }

  kvCommit(req: KvCommitRequest): Promise<KvCommitResponse> {
    return this.run(
      'kvCommit',
      req,
      (c) => this.keys(c, req.keys),
      (x) => x.commit(req),
      (error) => ({ error }),
    );
  }

  kvBatchRollback(req: KvBatchRollbackRequest): Promise<KvBatchRollbackResponse> {
    return this.run(
      'kvBatchRollback',
      req,
      (c) => this.keys(c, req.keys),
      (x) => x.batchRollback(req),
      (error) => ({ error }),
    );
  }

  kvCheckTxnStatus(req: KvCheckTxnStatusRequest): Promise<KvCheckTxnStatusResponse> {
    return this.run(
      'kvCheckTxnStatus',
      req,
      (c) => [c.key(req.primaryKey, 'primary key')],
      (x) => x.checkTxnStatus(req),
      (error) => ({ lockTtl: 0n, commitVersion: 0n, action: Action.NoAction, error }),
    );
  }

  kvResolveLock(req: KvResolveLockRequest): Promise<KvResolveLockResponse> {
    // No keys: it resolves the transaction's locks in this region, wherever they are.
    return this.run(
      'kvResolveLock',
      req,
      () => [],
      (x) => x.resolveLock(req),
      (error) => ({ error }),
    );
  }

  private keys(c: InputCheck, keys: Uint8Array[] | undefined): Uint8Array[] {
    const ks = Array.isArray(keys) ? keys : [];
    c.batch(ks.length, 'keys');
    return ks.map((k, i) => c.key(k, `key ${i}`));
  }

  /**
   * Checks the request's context and sizes (`keysOf` returns the user keys that must lie in the
   * region), then runs the command; `failed` shapes a KeyError into the command's response.
   */
  private async run<R extends object>(
    method: TxnMethod,
    req: { context?: kvrpcpb.Context.$Properties | null },
    keysOf: (c: InputCheck) => Uint8Array[],
    exec: (x: TxnExecutor) => Promise<R>,
    failed: (e?: KeyError) => R,
    /** What a read returned, counted as the region's read traffic. */
    returned?: (r: R) => { key: Uint8Array; value?: Uint8Array }[],
  ): Promise<R> {
    const m = this.opts.metrics;
    m.clientRequests.labels(method).inc();
    const t0 = performance.now();
    try {
      let header: raft_cmdpb.IRaftRequestHeader;
      let keys: Uint8Array[];
      try {
        header = requestHeader(req.context);
        keys = keysOf(new InputCheck(this.opts.limits));
      } catch (e) {
        if (!(e instanceof BadRequest)) throw e;
        m.clientRequestErrors.labels(method).inc();
        return failed({ abort: `invalid request: ${e.message}` });
      }
      const store = this.opts.store();
      if (typeof store === 'string')
        return this.regionError(method, failed(), { message: `server is busy: ${store}`, serverIsBusy: { reason: store } });
      const forWrite = method !== 'kvGet' && method !== 'kvScan';
      const executor = new TxnExecutor(new RegionTxnStorage(store, header, keys, forWrite), { latches: this.latches });
      const out = await exec(executor);
      if (returned && store.recordRead && header.regionId) {
        let bytes = 0;
        const kvs = returned(out);
        for (const kv of kvs) bytes += kv.key.length + (kv.value?.length ?? 0);
        if (kvs.length > 0) store.recordRead(Number(header.regionId), bytes, kvs.length);
      }
      return out;
    } catch (e) {
      if (e instanceof StoreAnswer && isRegionError(e.error)) return this.regionError(method, failed(), e.error);
      m.clientRequestErrors.labels(method).inc();
      if (!(e instanceof StoreAnswer)) this.opts.logger.error('transactional request failed unexpectedly', { method, err: messageOf(e) });
      return failed({ abort: e instanceof StoreAnswer ? e.message : `internal error: ${messageOf(e)}` });
    } finally {
      m.clientRequestDuration.labels(method).observe((performance.now() - t0) / 1000);
    }
  }

  /** `empty` (the command's response without an error) with the region error. */
  private regionError<R extends object>(method: TxnMethod, empty: R, e: errorpb.IError): R {
    this.opts.metrics.clientRegionErrors.labels(method, regionErrorName(e)).inc();
    return { ...empty, regionError: e };
  }
}
