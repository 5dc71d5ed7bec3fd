// The scheduler's Prometheus metrics, in a Registry of its own (several servers in one process,
// as in tests, must not share counters). Counters are bumped where things happen; the gauges
// read the cluster state when scraped, so they cannot drift from it.
import { metapb } from '@tskv/proto';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ClusterState } from './cluster_state.js';
import type { OperatorController } from './operator_controller.js';

export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'method' | 'result'>;
  readonly regionHeartbeats: Counter<'result'>;
  readonly storeHeartbeats: Counter<string>;
  readonly operatorsCreated: Counter<'kind'>;
  readonly operatorsFinished: Counter<'kind'>;
  readonly operatorsTimedOut: Counter<'kind'>;
  readonly operatorsCancelled: Counter<'kind'>;
  readonly allocatedIds: Counter<string>;
  readonly tsoRequests: Counter<string>;
  readonly tsoTimestamps: Counter<string>;

  constructor(state: ClusterState, ops: OperatorController) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'tskv_scheduler_requests_total',
      help: 'gRPC requests by method and result (ok or the error type)',
      labelNames: ['method', 'result'],
      registers,
    });
    this.regionHeartbeats = new Counter({
      name: 'tskv_scheduler_region_heartbeats_total',
      help: 'Region heartbeats by result (ok, stale, error)',
      labelNames: ['result'],
      registers,
    });
    this.storeHeartbeats = new Counter({ name: 'tskv_scheduler_store_heartbeats_total', help: 'Store heartbeats recorded', registers });
    this.operatorsCreated = new Counter({
      name: 'tskv_scheduler_operators_created_total',
      help: 'Operators created, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.operatorsFinished = new Counter({
      name: 'tskv_scheduler_operators_finished_total',
      help: 'Operators seen carried out, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.operatorsTimedOut = new Counter({
      name: 'tskv_scheduler_operators_timed_out_total',
      help: 'Operators dropped after no progress for operatorTimeoutMs, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.operatorsCancelled = new Counter({
      name: 'tskv_scheduler_operators_cancelled_total',
      help: 'Operators dropped because the region changed under them, by kind',
      labelNames: ['kind'],
      registers,
    });
    this.allocatedIds = new Counter({
      name: 'tskv_scheduler_alloc_ids_total',
      help: 'Ids handed out (AllocID, splits, new peers)',
      registers,
    });
    this.tsoRequests = new Counter({ name: 'tskv_scheduler_tso_requests_total', help: 'TSO requests answered', registers });
    this.tsoTimestamps = new Counter({
      name: 'tskv_scheduler_tso_timestamps_total',
      help: 'Timestamps handed out (requests times count)',
      registers,
    });

    new Gauge({
      name: 'tskv_scheduler_stores',
      help: 'Known stores by state',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const st of ['Up', 'Offline', 'Tombstone']) this.set({ state: st }, 0);
        for (const s of state.stores.values()) this.inc({ state: metapb.StoreState[s.meta.state ?? 0] ?? 'Up' });
      },
    });
    new Gauge({
      name: 'tskv_scheduler_regions',
      help: 'Known regions',
      registers,
      collect() {
        this.set(state.regions.size);
      },
    });
    new Gauge({
      name: 'tskv_scheduler_store_regions',
      help: 'Region replicas per store',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        for (const [id, l] of state.storeLoads()) this.set({ store: String(id) }, l.regions);
      },
    });
    new Gauge({
      name: 'tskv_scheduler_store_leaders',
      help: 'Region leaders per store (from region heartbeats)',
      labelNames: ['store'],
      registers,
      collect() {
        this.reset();
        for (const [id, l] of state.storeLoads()) this.set({ store: String(id) }, l.leaders);
      },
    });
    new Gauge({
      name: 'tskv_scheduler_pending_operators',
      help: 'Operators in flight',
      registers,
      collect() {
        this.set(ops.size);
      },
    });
    new Gauge({
      name: 'tskv_scheduler_bootstrapped',
      help: '1 once the cluster is bootstrapped',
      registers,
      collect() {
        this.set(state.bootstrapped ? 1 : 0);
      },
    });
  }
}
