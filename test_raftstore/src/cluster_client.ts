// ClusterClient: the client side of the mock cluster, what a TinyKV/TiKV client does: route a
// request by key to the region's leader (from the scheduler's view), and retry on region errors.
import { setTimeout as sleep } from 'node:timers/promises';
import type { CfName } from '@tskv/engine';
import { type errorpb, type metapb, raft_cmdpb } from '@tskv/proto';
import { findPeerById } from '@tskv/util';
import type { MockScheduler } from './mock_scheduler.js';

export type Key = string | Uint8Array;
const CmdType = raft_cmdpb.CmdType;

export function toBytes(k: Key): Uint8Array {
  return typeof k === 'string' ? Buffer.from(k, 'utf8') : k;
}

export function bytesToString(b: Uint8Array | null | undefined): string {
  return b ? Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8') : '<none>';
}

export function show(k: Uint8Array): string {
  const s = Buffer.from(k).toString('utf8');
  return /^[\x20-\x7e]*$/.test(s) ? JSON.stringify(s) : `0x${Buffer.from(k).toString('hex')}`;
}

export interface RequestOptions {
  /** Overall time to keep retrying (default: the cluster's requestDeadlineMs). */
  deadlineMs?: number;
  /**
   * Retry after a Timeout (default true). A Timeout leaves the outcome unknown, so a retried
   * write may be applied twice; with false the request throws a ClusterRequestError whose
   * `ambiguous` is set instead, as a client recording a history for a checker must.
   */
  retryAmbiguous?: boolean;
}

/** A request that could not succeed: the deadline passed, or the error is not retryable. */
export class ClusterRequestError extends Error {
  constructor(
    message: string,
    readonly regionError: errorpb.IError | null,
    readonly retryable: boolean,
    /** The request may have been applied (a Timeout, with RequestOptions.retryAmbiguous false). */
    readonly ambiguous = false,
  ) {
    super(message);
  }
}

export abstract class ClusterClient {
  abstract readonly scheduler: MockScheduler;
  abstract readonly requestDeadlineMs: number;
  protected abstract readonly requestTimeoutMs: number;
  abstract isRunning(storeId: number): boolean;
  abstract call(storeId: number, req: raft_cmdpb.IRaftCmdRequest, timeoutMs?: number): Promise<raft_cmdpb.IRaftCmdResponse>;
  /** True once the cluster is shut down: requests stop retrying. */
  protected abstract get closed(): boolean;
  private rr = 0;

  private pickTarget(region: metapb.IRegion): metapb.IPeer | undefined {
    const peers = region.peers ?? [];
    const hint = this.scheduler.leader(region.id!);
    if (hint && this.isRunning(hint.storeId!) && findPeerById(region, hint.id!)) return hint;
    for (let i = 0; i < peers.length; i++) {
      const p = peers[(this.rr + i) % peers.length]!;
      if (this.isRunning(p.storeId!)) {
        this.rr = (this.rr + i + 1) % peers.length;
        return p;
      }
    }
    return undefined;
  }

  /**
   * Sends `requests` (about `key`) to the leader of the region holding `key` and retries until
   * success or the deadline: NotLeader (follows the hint, else tries the other stores),
   * EpochNotMatch (refreshes the region), StaleCommand, Timeout, RegionNotFound, a store down.
   * KeyNotInRegion (refreshes the region's range: it split), a key in a gap between known regions
   * (a split the scheduler has not heard of yet). A key outside every region, StoreNotMatch and
   * malformed requests fail at once.
   *
   * A Timeout leaves the outcome unknown: a retried write may be applied twice. Callers design
   * their writes to be idempotent (the generic test writes a new key per append).
   */
  async request(key: Key, requests: raft_cmdpb.IRequest[], opts: RequestOptions = {}): Promise<raft_cmdpb.IRaftCmdResponse> {
    const k = toBytes(key);
    const deadlineMs = opts.deadlineMs ?? this.requestDeadlineMs;
    const deadline = Date.now() + deadlineMs;
    const timeoutMs = this.requestTimeoutMs;
    let lastErr: errorpb.IError | null = null;
    let lastMsg = 'no attempt';
    let attempts = 0;
    for (;;) {
      const now = Date.now();
      if (now >= deadline || this.closed) {
        throw new ClusterRequestError(
          `request on key ${show(k)} not done after ${deadlineMs} ms and ${attempts} attempts; last error: ${lastMsg}`,
          lastErr,
          true,
        );
      }
      const info = this.scheduler.regionByKey(k);
      if (!info) {
        if (!this.scheduler.withinKnownSpan(k)) throw new ClusterRequestError(`no region holds key ${show(k)}`, null, false);
        // A gap inside the known span: between a split and the scheduler hearing of a new region.
        lastMsg = `no region known yet for key ${show(k)}`;
        await sleep(50);
        continue;
      }
      const region = info.region;
      const target = this.pickTarget(region);
      if (!target) {
        lastMsg = 'every store of the region is down';
        await sleep(100);
        continue;
      }
      attempts++;
      const req: raft_cmdpb.IRaftCmdRequest = {
        header: { regionId: region.id, peer: target, regionEpoch: region.regionEpoch },
        requests,
      };
      const resp = await this.call(target.storeId!, req, Math.max(1, Math.min(timeoutMs, deadline - now)));
      const err = resp.header?.error;
      if (!err) {
        this.scheduler.setLeader(region.id!, target);
        return resp;
      }
      lastErr = err;
      lastMsg = `store ${target.storeId}: ${err.message ?? JSON.stringify(err)}`;
      if (err.notLeader) {
        const hint = err.notLeader.leader;
        if (hint?.id && hint.id !== target.id) {
          this.scheduler.setLeader(region.id!, hint);
          await sleep(10);
        } else {
          this.scheduler.setLeader(region.id!, null);
          await sleep(50);
        }
      } else if (err.epochNotMatch) {
        for (const r of err.epochNotMatch.currentRegions ?? []) this.scheduler.updateRegion(r);
        await sleep(10);
      } else if (err.staleCommand) {
        await sleep(20);
      } else if (err.timeout) {
        if (opts.retryAmbiguous === false)
          throw new ClusterRequestError(`request on key ${show(k)}: outcome unknown: ${lastMsg}`, err, true, true);
        // Maybe a deposed leader that does not know it yet: look elsewhere too.
        // The wait already happened (or the store was just stopped: a short pause).
        this.scheduler.setLeader(region.id!, null);
        await sleep(10);
      } else if (err.regionNotFound) {
        this.scheduler.setLeader(region.id!, null);
        await sleep(50);
      } else if (err.keyNotInRegion) {
        // The region split (or the cache was stale): refresh it from the store's answer and retry.
        const r = err.keyNotInRegion;
        const cur = this.scheduler.region(r.regionId ?? 0);
        if (cur) this.scheduler.updateRegion({ ...cur, startKey: r.startKey ?? new Uint8Array(0), endKey: r.endKey ?? new Uint8Array(0) });
        await sleep(20);
      } else {
        // StoreNotMatch, invalid request: retrying cannot help.
        throw new ClusterRequestError(`request on key ${show(k)} failed: ${lastMsg}`, err, false);
      }
    }
  }

  async mustPut(key: Key, value: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const k = toBytes(key);
    await this.request(k, [{ cmdType: CmdType.Put, put: { cf, key: k, value: toBytes(value) } }], opts);
  }

  async mustDelete(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const k = toBytes(key);
    await this.request(k, [{ cmdType: CmdType.Delete, delete: { cf, key: k } }], opts);
  }

  /** A linearizable get (through the leader's read index); undefined when the key is absent. */
  async get(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<Uint8Array | undefined> {
    const k = toBytes(key);
    const resp = await this.request(k, [{ cmdType: CmdType.Get, get: { cf, key: k } }], opts);
    const g = resp.responses?.[0]?.get;
    if (!g) throw new Error(`get ${show(k)}: response without a get result: ${JSON.stringify(resp)}`);
    return g.found ? (g.value ?? new Uint8Array(0)) : undefined;
  }

  /** A linearizable get that must find the key; returns its value. */
  async mustGet(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<Uint8Array> {
    const v = await this.get(key, cf, opts);
    if (v === undefined) throw new Error(`mustGet ${show(toBytes(key))}: not found`);
    return v;
  }

  /** A linearizable get that must find key = value. */
  async mustGetEqual(key: Key, value: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const v = await this.get(key, cf, opts);
    const want = toBytes(value);
    if (v === undefined || Buffer.compare(v, want) !== 0) {
      throw new Error(`mustGetEqual ${show(toBytes(key))}: got ${v ? show(v) : '<none>'}, want ${show(want)}`);
    }
  }

  async mustGetNone(key: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<void> {
    const v = await this.get(key, cf, opts);
    if (v !== undefined) throw new Error(`mustGetNone ${show(toBytes(key))}: found ${show(v)}`);
  }

  /**
   * A linearizable scan of [start, end) (end empty = to the end), region by region. Each region's
   * part is read at its own read point.
   */
  async scan(start: Key, end: Key, cf: CfName = 'default', opts?: RequestOptions): Promise<[Uint8Array, Uint8Array][]> {
    const e = toBytes(end);
    let s = toBytes(start);
    const out: [Uint8Array, Uint8Array][] = [];
    for (;;) {
      const resp = await this.request(s, [{ cmdType: CmdType.Snap, snap: { cf, startKey: s, endKey: e } }], opts);
      const snap = resp.responses?.[0]?.snap;
      if (!snap) throw new Error(`scan from ${show(s)}: response without a snap result: ${JSON.stringify(resp)}`);
      for (const kv of snap.kvs ?? []) out.push([kv.key ?? new Uint8Array(0), kv.value ?? new Uint8Array(0)]);
      const regionEnd = snap.region?.endKey ?? new Uint8Array(0);
      if (regionEnd.length === 0 || (e.length > 0 && Buffer.compare(regionEnd, e) >= 0)) return out;
      s = regionEnd;
    }
  }
}
