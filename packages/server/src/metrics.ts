// Prometheus metrics of one server, in a Registry of its own (several servers can share a process,
// as in the tests). Hot paths only touch pre-resolved label children; store-wide gauges (regions,
// leaders) are computed when scraped, and the raft worker reports once per round.
import { type EventLoopUtilization, type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { RoundStats, Store, StoreObserver } from '@tskv/raftstore';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { GcWorker } from './gc_worker.js';

/** Latency buckets in seconds: 50 µs to 10 s. */
const LATENCY_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

export type DropReason = 'unreachable' | 'queue_full' | 'no_address' | 'closed';

export class ServerMetrics {
  readonly registry = new Registry();

  readonly proposals: Counter;
  readonly entriesApplied: Counter;
  readonly entriesPersisted: Counter;
  readonly applyDuration: Histogram;
  readonly appendDuration: Histogram;
  readonly roundDuration: Histogram;

  readonly raftMessagesSent: Counter;
  readonly raftFramesSent: Counter;
  readonly raftMessagesDropped: Counter<'reason'>;
  readonly raftMessagesReceived: Counter;
  /** gRPC messages that could not be decoded (or broke the wire schema), by message type. */
  readonly malformedMessages: Counter<'type'>;
  readonly raftStreamReconnects: Counter;
  readonly snapshotsSent: Counter<'result'>;
  readonly snapshotsReceived: Counter<'result'>;

  readonly clientRequests: Counter<'method'>;
  readonly clientRegionErrors: Counter<'method' | 'error'>;
  readonly clientRequestErrors: Counter<'method'>;
  readonly clientRequestDuration: Histogram<'method'>;

  private store: Store | null = null;
  private gc: GcWorker | null = null;
  /** Event-loop delay since the last scrape (10 ms resolution timer; off once closed). */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private loopUtilization: EventLoopUtilization = performance.eventLoopUtilization();
  private readonly dropChildren = new Map<string, Counter.Internal>();

  constructor() {
    const registers = [this.registry];
    this.proposals = new Counter({
      name: 'tskv_raft_proposals_total',
      help: 'Commands taken by the raft worker (writes, reads, admin)',
      registers,
    });
    this.entriesApplied = new Counter({
      name: 'tskv_raft_entries_applied_total',
      help: 'Committed raft entries applied to the kv engine',
      registers,
    });
    this.entriesPersisted = new Counter({
      name: 'tskv_raft_entries_persisted_total',
      help: 'Raft entries appended to the raft engine',
      registers,
    });
    this.applyDuration = new Histogram({
      name: 'tskv_raft_apply_duration_seconds',
      help: 'Apply phase of a raft worker round (entries staged and the kv write)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.appendDuration = new Histogram({
      name: 'tskv_raft_append_duration_seconds',
      help: 'Raft engine write of a round (entries and hard states, fsync included)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.roundDuration = new Histogram({
      name: 'tskv_raft_ready_round_duration_seconds',
      help: 'One raft worker round: mail, persist, apply, hand-off',
      buckets: LATENCY_BUCKETS,
      registers,
    });

    this.raftMessagesSent = new Counter({
      name: 'tskv_raft_messages_sent_total',
      help: 'Raft messages written to store-to-store streams',
      registers,
    });
    this.raftFramesSent = new Counter({
      name: 'tskv_raft_frames_sent_total',
      help: 'BatchRaft frames written (each carries many messages)',
      registers,
    });
    this.raftMessagesDropped = new Counter({
      name: 'tskv_raft_messages_dropped_total',
      help: 'Raft messages dropped by the transport',
      labelNames: ['reason'],
      registers,
    });
    this.raftMessagesReceived = new Counter({
      name: 'tskv_raft_messages_received_total',
      help: 'Raft messages received from other stores',
      registers,
    });
    this.malformedMessages = new Counter({
      name: 'tskv_malformed_messages_total',
      help: 'gRPC messages refused undecoded (bad wire format), by message type',
      labelNames: ['type'],
      registers,
    });
    new Gauge({
      name: 'tskv_raft_messages_rejected',
      help: 'Inbound raft messages the store dropped before any peer saw them, by reason (since start)',
      labelNames: ['reason'],
      registers,
      collect() {
        for (const [reason, n] of self.store?.stats().raftDrops ?? []) this.set({ reason }, n);
      },
    });
    this.raftStreamReconnects = new Counter({
      name: 'tskv_raft_stream_reconnects_total',
      help: 'Raft streams reopened after a failure',
      registers,
    });
    this.snapshotsSent = new Counter({
      name: 'tskv_snapshots_sent_total',
      help: 'Snapshot streams sent, by result',
      labelNames: ['result'],
      registers,
    });
    this.snapshotsReceived = new Counter({
      name: 'tskv_snapshots_received_total',
      help: 'Snapshot streams received, by result',
      labelNames: ['result'],
      registers,
    });

    this.clientRequests = new Counter({
      name: 'tskv_client_requests_total',
      help: 'Client requests by method',
      labelNames: ['method'],
      registers,
    });
    this.clientRegionErrors = new Counter({
      name: 'tskv_client_region_errors_total',
      help: 'Client requests answered with a region error',
      labelNames: ['method', 'error'],
      registers,
    });
    this.clientRequestErrors = new Counter({
      name: 'tskv_client_request_errors_total',
      help: 'Client requests answered with a request error (malformed)',
      labelNames: ['method'],
      registers,
    });
    this.clientRequestDuration = new Histogram({
      name: 'tskv_client_request_duration_seconds',
      help: 'Client request handling time by method',
      labelNames: ['method'],
      buckets: LATENCY_BUCKETS,
      registers,
    });

    const self = this;
    new Gauge({
      name: 'tskv_regions',
      help: 'Regions with a peer on this store',
      registers,
      collect() {
        this.set(self.store?.stats().regions ?? 0);
      },
    });
    new Gauge({
      name: 'tskv_leaders',
      help: 'Regions whose leader is on this store',
      registers,
      collect() {
        this.set(self.store?.stats().leaders ?? 0);
      },
    });
    new Gauge({
      name: 'tskv_hibernating_regions',
      help: 'Peers of this store not ticking (idle regions)',
      registers,
      collect() {
        this.set(self.store?.stats().hibernating ?? 0);
      },
    });
    // Both are measured since the previous scrape: a scrape resets them.
    this.loopDelay.enable();
    new Gauge({
      name: 'tskv_event_loop_delay_seconds',
      help: 'Event-loop delay since the previous scrape, beyond the 10 ms timer of perf_hooks.monitorEventLoopDelay',
      labelNames: ['quantile'],
      registers,
      collect() {
        const h = self.loopDelay;
        // The histogram holds whole timer intervals: the delay is what exceeds the 10 ms resolution.
        const s = (ns: number): number => (Number.isFinite(ns) ? Math.max(0, ns - 10e6) / 1e9 : 0);
        this.set({ quantile: '0.5' }, s(h.percentile(50)));
        this.set({ quantile: '0.99' }, s(h.percentile(99)));
        this.set({ quantile: 'max' }, s(h.max));
        h.reset();
      },
    });
    new Gauge({
      name: 'tskv_event_loop_utilization',
      help: 'Share of wall time the event loop was busy since the previous scrape (0..1)',
      registers,
      collect() {
        const now = performance.eventLoopUtilization();
        this.set(performance.eventLoopUtilization(now, self.loopUtilization).utilization);
        self.loopUtilization = now;
      },
    });
    new Gauge({
      name: 'tskv_gc_safe_point',
      help: 'The MVCC GC safe point this store last read from the scheduler (physical ms of the TSO timestamp)',
      registers,
      collect() {
        this.set(Number((self.gc?.stats.safePoint ?? 0n) >> 18n));
      },
    });
    new Gauge({
      name: 'tskv_gc_versions_deleted',
      help: "MVCC write records deleted by this store's GC (since start)",
      registers,
      collect() {
        this.set(self.gc?.stats.versionsDeleted ?? 0);
      },
    });
    new Gauge({
      name: 'tskv_snapshot_bytes_sent',
      help: 'Snapshot bytes streamed to other stores (since start)',
      registers,
      collect() {
        this.set(self.store?.stats().snap.bytesSent ?? 0);
      },
    });
    new Gauge({
      name: 'tskv_snapshot_bytes_received',
      help: 'Snapshot bytes received from other stores and accepted (since start)',
      registers,
      collect() {
        this.set(self.store?.stats().snap.bytesReceived ?? 0);
      },
    });
    new Gauge({
      name: 'tskv_snapshots_generated',
      help: 'Snapshots generated on this store to send (since start)',
      registers,
      collect() {
        this.set(self.store?.stats().snap.generated ?? 0);
      },
    });
    new Gauge({
      name: 'tskv_snapshots_applied',
      help: 'Received snapshots applied to the kv engine, by result (since start)',
      labelNames: ['result'],
      registers,
      collect() {
        const snap = self.store?.stats().snap;
        this.set({ result: 'ok' }, snap?.applied ?? 0);
        this.set({ result: 'failed' }, snap?.applyFailed ?? 0);
      },
    });
  }

  /** Stops the event-loop delay sampling (the server calls it when it stops). */
  close(): void {
    this.loopDelay.disable();
  }

  /** The GC worker whose figures are reported. */
  bindGc(gc: GcWorker): void {
    this.gc = gc;
  }

  /** The store whose gauges are reported; its raft worker reports rounds from now on. */
  bindStore(store: Store): void {
    this.store = store;
    store.observe(this.observer());
  }

  observer(): StoreObserver {
    return {
      onRound: (r: RoundStats) => {
        if (r.proposals > 0) this.proposals.inc(r.proposals);
        if (r.entriesApplied > 0) {
          this.entriesApplied.inc(r.entriesApplied);
          this.applyDuration.observe(r.applyMs / 1000);
        }
        if (r.entriesPersisted > 0) this.entriesPersisted.inc(r.entriesPersisted);
        if (r.appendMs > 0) this.appendDuration.observe(r.appendMs / 1000);
        this.roundDuration.observe(r.durationMs / 1000);
      },
    };
  }

  dropped(reason: DropReason, n = 1): void {
    let c = this.dropChildren.get(reason);
    if (!c) {
      c = this.raftMessagesDropped.labels(reason);
      this.dropChildren.set(reason, c);
    }
    c.inc(n);
  }

  /** The text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * One metric's current value, summed over the series whose labels include `labels` (for a
   * histogram: its observation count); 0 if never set. For tests and tools.
   */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const m = this.registry.getSingleMetric(name);
    if (!m) return 0;
    const got = await m.get();
    const isHistogram = String(got.type) === 'histogram';
    let sum = 0;
    for (const v of got.values as { value: number; labels: Record<string, unknown>; metricName?: string }[]) {
      if (isHistogram && v.metricName !== `${name}_count`) continue;
      if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
    }
    return sum;
  }
}
