// What the parts of a store share, and how it is built: its configuration, engines, peers (the
// router), range index, snapshot files, background workers and outside world. Each part takes the
// slice it uses (a Pick of it), so its dependencies show in its constructor.
import { join } from 'node:path';
import type { Engines } from '@tskv/engine';
import type { raft_cmdpb } from '@tskv/proto';
import type { StoreConfig } from './config.js';
import type { Logger } from './logger.js';
import { RaftLogGcWorker } from './raft_log_gc.js';
import { RaftMessageDrops } from './raft_msg_filter.js';
import { RegionWorker } from './region_worker.js';
import { Router } from './router.js';
import { SnapManager } from './snap/index.js';
import { StoreMeta } from './store_meta.js';
import type { SchedulerClient, Transport } from './transport.js';

export interface StoreContext {
  readonly cfg: StoreConfig;
  readonly engines: Engines;
  readonly transport: Transport;
  readonly scheduler: SchedulerClient;
  readonly router: Router;
  readonly meta: StoreMeta;
  readonly regionWorker: RegionWorker;
  readonly logGc: RaftLogGcWorker;
  readonly snapMgr: SnapManager;
  /** Inbound raft messages refused before reaching a peer, by reason. */
  readonly raftDrops: RaftMessageDrops;
  readonly logger: Logger;
  /** Store.call: a command through the region's peer (the parts propose admin commands with it). */
  readonly call: (req: raft_cmdpb.IRaftCmdRequest) => Promise<raft_cmdpb.IRaftCmdResponse>;
}

/** The shared pieces of a new store: an empty router and range index, its snapshot directory and workers. */
export function createStoreContext(
  cfg: StoreConfig,
  engines: Engines,
  transport: Transport,
  scheduler: SchedulerClient,
  logger: Logger,
  call: StoreContext['call'],
): StoreContext {
  const router = new Router();
  const snapMgr = new SnapManager(join(engines.dataDir, 'snap'), {
    maxConcurrentGenerating: cfg.snapMaxConcurrentGenerating,
    maxConcurrentReceiving: cfg.snapMaxConcurrentReceiving,
    staleAgeMs: cfg.snapStaleAgeMs,
    logger,
  });
  return {
    cfg,
    engines,
    transport,
    scheduler,
    router,
    meta: new StoreMeta(),
    regionWorker: new RegionWorker(cfg, engines, snapMgr, router, logger),
    logGc: new RaftLogGcWorker(engines, logger),
    snapMgr,
    raftDrops: new RaftMessageDrops(() => logger),
    logger,
    call,
  };
}
