// What the parts of a store share: its configuration, engines, peers (the router), range index,
// workers and outside world. Store builds one; each part takes the slice it uses (a Pick of it),
// so its dependencies show in its constructor.
import type { Engines } from '@tskv/engine';
import type { raft_cmdpb } from '@tskv/proto';
import type { StoreConfig } from './config.js';
import type { Logger } from './logger.js';
import type { RaftLogGcWorker } from './raft_log_gc.js';
import type { RaftMessageDrops } from './raft_msg_filter.js';
import type { RegionWorker } from './region_worker.js';
import type { Router } from './router.js';
import type { SnapManager } from './snap/index.js';
import type { StoreMeta } from './store_meta.js';
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
  readonly raftDrops: RaftMessageDrops;
  readonly logger: Logger;
  /** Store.call: a command through the region's peer (the parts propose admin commands with it). */
  readonly call: (req: raft_cmdpb.IRaftCmdRequest) => Promise<raft_cmdpb.IRaftCmdResponse>;
}
