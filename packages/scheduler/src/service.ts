// The gRPC face of the scheduler: schedulerService's handlers over a SchedulerCore. Every answer
// carries header.cluster_id; every failure the scheduler decides goes in header.error (never a
// gRPC status, never a crash): a request naming another cluster is CLUSTER_MISMATCH (cluster id
// 0 is accepted, that is a client that has not learned it yet), calls that need a cluster before
// bootstrap are NOT_BOOTSTRAPPED, anything unexpected is UNKNOWN with its message.
//
// The two streams answer every request with exactly one response, in order: each stream has a
// FIFO chain of handlers, and the store side matches answers to requests by position.
import type * as grpc from '@grpc/grpc-js';
import type { schedulerpb } from '@tskv/proto';
import type { GetGCSafePointRequest, UpdateGCSafePointRequest } from '@tskv/rpc';
import type { SchedulerCore } from './core.js';
import { ErrorType, HeaderError } from './errors.js';

type Header = schedulerpb.IResponseHeader;
type WithHeader = { header?: schedulerpb.IRequestHeader | null };

/** The open server-side streams, so stop() can end them. */
export interface StreamRegistry {
  add(call: grpc.ServerDuplexStream<unknown, unknown>): void;
  delete(call: grpc.ServerDuplexStream<unknown, unknown>): void;
}

export function createServiceImpl(core: SchedulerCore, streams: StreamRegistry): grpc.UntypedServiceImplementation {
  const header = (error?: HeaderError): Header =>
    error ? { clusterId: core.clusterId, error: { type: error.type, message: error.message } } : { clusterId: core.clusterId };

  /** Runs fn for a request, turning every outcome into a response with a header. */
  async function answer<R extends object>(
    method: string,
    req: WithHeader,
    needsCluster: boolean,
    fn: () => R | Promise<R>,
  ): Promise<R & { header: Header }> {
    try {
      const id = Number(req?.header?.clusterId ?? 0);
      if (id !== 0 && id !== core.clusterId)
        throw new HeaderError(ErrorType.CLUSTER_MISMATCH, `request for cluster ${id}, this is cluster ${core.clusterId}`);
      if (needsCluster && !core.bootstrapped)
        throw new HeaderError(ErrorType.NOT_BOOTSTRAPPED, `cluster ${core.clusterId} is not bootstrapped`);
      const res = await fn();
      core.metrics.requests.inc({ method, result: 'ok' });
      return { ...res, header: header() };
    } catch (e) {
      const err = e instanceof HeaderError ? e : new HeaderError(ErrorType.UNKNOWN, e instanceof Error ? e.message : String(e));
      if (!(e instanceof HeaderError)) core.logger.error('request failed', { method, err: err.message });
      else core.logger.debug('request refused', { method, type: ErrorType[err.type], err: err.message });
      core.metrics.requests.inc({ method, result: ErrorType[err.type] ?? 'UNKNOWN' });
      return { header: header(err) } as R & { header: Header };
    }
  }

  function unary<Req extends WithHeader, R extends object>(method: string, needsCluster: boolean, fn: (req: Req) => R | Promise<R>) {
    return (call: grpc.ServerUnaryCall<Req, unknown>, cb: grpc.sendUnaryData<unknown>): void => {
      void answer(method, call.request, needsCluster, () => fn(call.request)).then((res) => cb(null, res));
    };
  }

  /** A bidi stream answering each request in order with handle's response. */
  function stream<Req extends WithHeader>(handle: (req: Req) => Promise<object>) {
    return (call: grpc.ServerDuplexStream<Req, unknown>): void => {
      streams.add(call as grpc.ServerDuplexStream<unknown, unknown>);
      let chain: Promise<void> = Promise.resolve();
      let open = true;
      const close = (): void => {
        open = false;
        streams.delete(call as grpc.ServerDuplexStream<unknown, unknown>);
      };
      call.on('data', (req: Req) => {
        chain = chain
          .then(async () => {
            const res = await handle(req);
            if (open && !call.writableEnded) call.write(res);
          })
          .catch((e: unknown) => {
            core.logger.error('stream answer failed', { err: String(e) });
          });
      });
      call.on('end', () => {
        void chain.then(() => {
          if (open && !call.writableEnded) call.end();
          close();
        });
      });
      call.on('error', close);
      call.on('cancelled', close);
      call.on('close', close);
    };
  }

  return {
    bootstrap: unary<schedulerpb.BootstrapRequest, object>('Bootstrap', false, async (r) => {
      await core.bootstrap(r.store, r.region);
      return {};
    }),
    isBootstrapped: unary<schedulerpb.IsBootstrappedRequest, object>('IsBootstrapped', false, () => ({ bootstrapped: core.bootstrapped })),
    allocID: unary<schedulerpb.AllocIDRequest, object>('AllocID', false, async () => ({ id: (await core.allocIds(1))[0] })),
    tso: stream<schedulerpb.TsoRequest>((r) =>
      answer('Tso', r, false, async () => {
        const count = r.count || 1;
        return { count, timestamp: await core.timestamp(count) };
      }),
    ),
    putStore: unary<schedulerpb.PutStoreRequest, object>('PutStore', true, async (r) => {
      await core.putStore(r.store);
      return {};
    }),
    getStore: unary<schedulerpb.GetStoreRequest, object>('GetStore', true, (r) => {
      const s = core.getStore(Number(r.storeId));
      return { store: s.store, stats: s.stats ?? undefined, lastHeartbeatMs: s.lastHeartbeatMs };
    }),
    getAllStores: unary<schedulerpb.GetAllStoresRequest, object>('GetAllStores', true, (r) =>
      core.getAllStores(!!r.excludeTombstoneStores),
    ),
    getRegion: unary<schedulerpb.GetRegionRequest, object>('GetRegion', true, (r) => core.getRegionByKey(r.regionKey)),
    getRegionByID: unary<schedulerpb.GetRegionByIDRequest, object>('GetRegionByID', true, (r) => core.getRegionById(Number(r.regionId))),
    scanRegions: unary<schedulerpb.ScanRegionsRequest, object>('ScanRegions', true, (r) => core.scanRegions(r.startKey, r.endKey, r.limit)),
    regionHeartbeat: stream<schedulerpb.RegionHeartbeatRequest>(async (r) => {
      const res = await answer('RegionHeartbeat', r, true, () => core.regionHeartbeat(r));
      const err = res.header.error?.type;
      core.metrics.regionHeartbeats.inc({ result: !err ? 'ok' : err === ErrorType.STALE_REGION ? 'stale' : 'error' });
      // The answer names its region even when refused, so the store can tell which one it is.
      return 'regionId' in res ? res : { ...res, regionId: Number(r.region?.id ?? 0) };
    }),
    storeHeartbeat: unary<schedulerpb.StoreHeartbeatRequest, object>('StoreHeartbeat', true, (r) => {
      core.storeHeartbeat(r.stats);
      return {};
    }),
    askBatchSplit: unary<schedulerpb.AskBatchSplitRequest, object>('AskBatchSplit', true, async (r) => ({
      ids: await core.askBatchSplit(r.region, r.splitCount),
    })),
    reportBatchSplit: unary<schedulerpb.ReportBatchSplitRequest, object>('ReportBatchSplit', true, async (r) => {
      await core.reportBatchSplit(r.regions ?? []);
      return {};
    }),
    // PD's rules: both need a bootstrapped cluster; the u64s are bigints (gc_codec of @tskv/rpc).
    getGCSafePoint: unary<GetGCSafePointRequest, object>('GetGCSafePoint', true, () => ({ safePoint: core.gcSafePoint })),
    updateGCSafePoint: unary<UpdateGCSafePointRequest, object>('UpdateGCSafePoint', true, async (r) => ({
      newSafePoint: await core.updateGCSafePoint(r.safePoint),
    })),
  };
}
