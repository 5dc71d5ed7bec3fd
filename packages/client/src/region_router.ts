// RegionRouter: the routing and retry machinery the raw and the transactional clients share.
//
// A request about a key goes to the region that holds it (RegionCache), to the peer believed to
// lead, over that store's StoreConnection. Each attempt carries the region id, epoch and peer in
// its Context; a region error corrects the cache (new leader, current regions after a split,
// reload) and the request is tried again until the operation's deadline. Requests about several
// keys are grouped by region and regrouped after region errors (a key may have moved).
import type { errorpb, kvrpcpb, metapb } from '@tskv/proto';
import type { KeyError } from '@tskv/rpc';
import { RetryState } from './backoff.js';
import { showKey } from './bytes.js';
import { AmbiguousResultError, ClientClosedError, InvalidArgumentError, ProtocolError, RequestError } from './errors.js';
import { type CachedRegion, RegionCache, type RegionSource, StoreNotFoundError } from './region_cache.js';
import { type BatchRequest, type BatchResponse, StoreConnection, type StoreConnectionOptions } from './store_connection.js';

export interface RouterOptions {
  timeoutMs: number;
  attemptTimeoutMs: number;
  maxBackoffMs: number;
  storeDownMs?: number;
  regionPrefetch?: number;
  connection?: StoreConnectionOptions;
  /** false: a raw write whose attempt has an unknown outcome fails with AmbiguousResultError. */
  retryAmbiguousWrites: boolean;
}

/**
 * A sub-response as the router sees it. A string `error` (raw requests) means the store refused
 * the request itself: thrown as RequestError. A KeyError (transactional requests) is an answer
 * about the data (locked, conflict, ...): the caller interprets it.
 */
export interface WithErrors {
  regionError?: errorpb.IError | null;
  error?: string | KeyError | null;
}

/** The retry bookkeeping of one operation: the shared deadline and the stores to avoid. */
export class OpState extends RetryState {
  /** Stores that failed for this operation (tried last if every peer is in here). */
  readonly avoid = new Set<number>();
  leaderHops = 0;
  epochRetries = 0;
  /**
   * An attempt may have reached a store without a definite answer (the stream failed or timed
   * out after sending, or the store answered Timeout): a write may have been applied.
   */
  ambiguous = false;
}

export function describeRegionError(e: errorpb.IError): string {
  const kind = e.notLeader
    ? `NotLeader (leader ${e.notLeader.leader?.id ? `peer ${e.notLeader.leader.id} on store ${e.notLeader.leader.storeId}` : 'unknown'})`
    : e.epochNotMatch
      ? `EpochNotMatch (${e.epochNotMatch.currentRegions?.length ?? 0} current regions)`
      : e.regionNotFound
        ? 'RegionNotFound'
        : e.keyNotInRegion
          ? `KeyNotInRegion (${showKey(e.keyNotInRegion.key)} not in [${showKey(e.keyNotInRegion.startKey)}, ` +
            `${e.keyNotInRegion.endKey?.length ? showKey(e.keyNotInRegion.endKey) : '+inf'}))`
          : e.serverIsBusy
            ? `ServerIsBusy${e.serverIsBusy.reason ? ` (${e.serverIsBusy.reason})` : ''}`
            : e.staleCommand
              ? 'StaleCommand'
              : e.timeout
                ? 'Timeout'
                : e.storeNotMatch
                  ? `StoreNotMatch (request for store ${e.storeNotMatch.requestStoreId}, this is store ${e.storeNotMatch.actualStoreId})`
                  : 'region error';
  return e.message && !kind.includes(e.message) ? `${kind}: ${e.message}` : kind;
}

/**
 * Raw requests that change data: an unknown outcome of these cannot simply be retried when
 * retryAmbiguousWrites is off. Transactional writes are idempotent (a prewrite meeting its own
 * lock, a commit of a committed key, a rollback of a rolled-back one): always retried.
 */
function isRawWrite(req: BatchRequest): boolean {
  return !!(req.rawPut || req.rawDelete || req.rawBatchPut);
}

export function errMsg(e: unknown): string {
  const se = e as { code?: number; details?: string; message?: string };
  return se?.details || se?.message || String(e);
}

export type Build = (ctx: kvrpcpb.IContext) => BatchRequest;
export type Pick<R> = (r: BatchResponse) => R | null | undefined;

export class RegionRouter {
  readonly cache: RegionCache;
  private readonly conns = new Map<number, StoreConnection>();
  private closed = false;

  constructor(
    scheduler: RegionSource,
    readonly schedulerAddr: string,
    readonly opts: RouterOptions,
  ) {
    this.cache = new RegionCache(scheduler, { storeDownMs: opts.storeDownMs, prefetch: opts.regionPrefetch });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** A new operation's retry state, with the deadline timeoutMs from now (or the one given). */
  state(what: string, deadline = Date.now() + this.opts.timeoutMs): OpState {
    return new OpState(what, deadline, { maxMs: this.opts.maxBackoffMs });
  }

  /** A state for a part of an operation run in parallel with others (same deadline, own backoff). */
  fork(st: OpState): OpState {
    const f = new OpState(st.what, st.deadline, { maxMs: this.opts.maxBackoffMs });
    f.attempts = st.attempts;
    return f;
  }

  /** Closes the store streams; pending requests fail with ClientClosedError. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }

  connections(): ReadonlyMap<number, StoreConnection> {
    return this.conns;
  }

  checkOpen(): void {
    if (this.closed) throw new ClientClosedError();
  }

  /** One request about one key, retried until success or the deadline of st. */
  async single<R extends WithErrors>(key: Uint8Array, st: OpState, build: Build, pick: Pick<R>): Promise<{ res: R; region: CachedRegion }> {
    for (;;) {
      this.checkOpen();
      st.check();
      const e = await this.locate(key, st);
      if (!e) continue;
      const res = await this.attempt(e, build, pick, st);
      if (res) return { res, region: e };
    }
  }

  /**
   * Items grouped by region, one request per region (or per chunk of a region's items when
   * `chunk` cuts them), in parallel; the items of a request that met a region error are grouped
   * again by the corrected cache. `done` runs once per answered request (awaited).
   */
  async grouped<T extends { key: Uint8Array }, R extends WithErrors>(
    items: T[],
    st: OpState,
    build: (ctx: kvrpcpb.IContext, items: T[]) => BatchRequest,
    pick: Pick<R>,
    done: (items: T[], res: R, region: CachedRegion, st: OpState) => void | Promise<void>,
    chunk: (items: T[]) => T[][] = (its) => [its],
  ): Promise<void> {
    const groups = await this.groupByRegion(items, st);
    const parts: [CachedRegion, T[]][] = [];
    for (const [e, its] of groups) for (const c of chunk(its)) parts.push([e, c]);
    await Promise.all(
      parts.map(async ([e, its]) => {
        const gst = parts.length === 1 ? st : this.fork(st);
        this.checkOpen();
        gst.check();
        const res = await this.attempt(e, (ctx) => build(ctx, its), pick, gst);
        if (gst !== st && gst.ambiguous) st.ambiguous = true;
        if (res) await done(its, res, e, gst);
        else await this.grouped(its, gst, build, pick, done, chunk);
      }),
    );
  }

  /** Items by the region that holds their key (per the cache, else the scheduler), in first-seen order. */
  async groupByRegion<T extends { key: Uint8Array }>(items: readonly T[], st: OpState): Promise<Map<CachedRegion, T[]>> {
    const groups = new Map<CachedRegion, T[]>();
    for (const it of items) {
      let e: CachedRegion | null = null;
      while (!e) {
        this.checkOpen();
        st.check();
        e = await this.locate(it.key, st);
      }
      let g = groups.get(e);
      if (!g) {
        g = [];
        groups.set(e, g);
      }
      g.push(it);
    }
    return groups;
  }

  /** p, or a rejection once the deadline of st has passed. */
  within<T>(p: Promise<T>, st: RetryState): Promise<T> {
    const ms = st.remaining();
    if (ms <= 0) return Promise.reject(new Error('no answer before the deadline'));
    return new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  }

  /** The region of key from the cache or the scheduler; null (after a backoff) if unknown for now. */
  async locate(key: Uint8Array, st: OpState): Promise<CachedRegion | null> {
    const hit = this.cache.lookup(key);
    if (hit) return hit;
    try {
      const e = await this.within(this.cache.locate(key), st);
      if (e) return e;
      st.note(`the scheduler at ${this.schedulerAddr} knows no region for key ${showKey(key)} (is the cluster bootstrapped?)`);
    } catch (err) {
      this.checkOpen();
      st.note(`region lookup at the scheduler ${this.schedulerAddr} failed: ${errMsg(err)}`);
    }
    await st.backoff();
    return null;
  }

  private connection(storeId: number, address: string): StoreConnection {
    let c = this.conns.get(storeId);
    if (c && c.address !== address) {
      c.close();
      c = undefined;
    }
    if (!c) {
      c = new StoreConnection(storeId, address, this.opts.connection);
      this.conns.set(storeId, c);
    }
    return c;
  }

  private pickPeer(e: CachedRegion, st: OpState): metapb.IPeer | undefined {
    const voters = e.peers.filter((p) => !(p.isLearner || p.role === 1));
    // Every voter failed for this operation already: start over (after the backoffs slept).
    if (voters.length > 0 && voters.every((p) => st.avoid.has(p.storeId!))) st.avoid.clear();
    return this.cache.target(e, st.avoid);
  }

  /**
   * One attempt of a request on the region's current target peer. Returns the response, or null
   * after handling a retryable failure (cache corrected, backoff slept if needed). Throws
   * RequestError / ProtocolError (not retryable) and ClientClosedError.
   */
  async attempt<R extends WithErrors>(e: CachedRegion, build: Build, pick: Pick<R>, st: OpState): Promise<R | null> {
    const peer = this.pickPeer(e, st);
    if (!peer) {
      st.note(`${RegionCache.describe(e)} has no peers`);
      this.cache.invalidate(e.id);
      await st.backoff();
      return null;
    }
    const storeId = peer.storeId!;
    let address = this.cache.cachedStoreAddress(storeId);
    if (!address) {
      try {
        address = await this.within(this.cache.storeAddress(storeId), st);
      } catch (err) {
        this.checkOpen();
        if (err instanceof StoreNotFoundError) {
          st.note(`${err.message} (a peer of region ${e.id})`);
          st.avoid.add(storeId);
          this.cache.advancePeer(e, peer);
          this.cache.invalidate(e.id);
        } else st.note(`store lookup of store ${storeId} at the scheduler ${this.schedulerAddr} failed: ${errMsg(err)}`);
        await st.backoff();
        return null;
      }
    }
    const context: kvrpcpb.IContext = { regionId: e.id, regionEpoch: e.region.regionEpoch ?? { confVer: 0, version: 0 }, peer };
    st.attempts++;
    const req = build(context);
    const ambiguousIsFinal = !this.opts.retryAmbiguousWrites && isRawWrite(req);
    let resp: BatchResponse;
    try {
      resp = await this.connection(storeId, address).send(req, Math.max(1, Math.min(this.opts.attemptTimeoutMs, st.remaining())));
    } catch (err) {
      // Closed, or a request that cannot be encoded (never sent): nothing to retry.
      if (err instanceof ClientClosedError || err instanceof InvalidArgumentError) throw err;
      st.ambiguous = true;
      if (ambiguousIsFinal)
        throw new AmbiguousResultError(
          `${st.what}: store ${storeId} (region ${e.id}): ${errMsg(err)}; the write may or may not have been applied`,
          storeId,
        );
      st.note(`${errMsg(err)} (region ${e.id})`);
      st.avoid.add(storeId);
      this.cache.markStoreDown(storeId);
      this.cache.advancePeer(e, peer);
      // The store may come back elsewhere (a restart on another port): ask the scheduler again.
      this.cache.invalidateStore(storeId);
      await st.backoff();
      return null;
    }
    const res = pick(resp);
    if (!res)
      throw new ProtocolError(
        `${st.what}: store ${storeId} answered with a response of another kind: ${JSON.stringify(Object.keys(resp))}`,
      );
    if (res.regionError) {
      if (res.regionError.timeout) st.ambiguous = true;
      if (ambiguousIsFinal && res.regionError.timeout) {
        throw new AmbiguousResultError(
          `${st.what}: store ${storeId} (region ${e.id}): ${describeRegionError(res.regionError)}; the write may or may not have ` +
            `been applied`,
          storeId,
        );
      }
      await this.onRegionError(e, peer, res.regionError, st);
      return null;
    }
    if (typeof res.error === 'string' && res.error)
      throw new RequestError(`${st.what}: store ${storeId} refused the request: ${res.error}`, storeId);
    this.cache.confirmLeader(e, peer);
    this.cache.markStoreUp(storeId);
    return res;
  }

  private async onRegionError(e: CachedRegion, peer: metapb.IPeer, err: errorpb.IError, st: OpState): Promise<void> {
    const storeId = peer.storeId!;
    st.note(`store ${storeId}, region ${e.id}: ${describeRegionError(err)}`, err);
    if (err.notLeader) {
      const l = err.notLeader.leader;
      if (l?.id && Number(l.id) !== peer.id) {
        // The hint comes from a peer that heard from the leader: its store is up.
        st.avoid.delete(Number(l.storeId));
        this.cache.markStoreUp(Number(l.storeId));
        if (!this.cache.switchLeader(e, l)) {
          // A leader we do not know: the membership changed. Reload the region.
          this.cache.invalidate(e.id);
          await st.backoff();
        } else if (++st.leaderHops > 2) {
          // Hints going around in circles (an election under way): slow down.
          await st.backoff();
        }
        return;
      }
      // No leader known (an election): try the next peer after a short wait.
      st.avoid.add(storeId);
      this.cache.advancePeer(e, peer);
      await st.backoff();
      return;
    }
    if (err.epochNotMatch) {
      const replaced = this.cache.onEpochNotMatch(e.id, err.epochNotMatch.currentRegions ?? [], storeId);
      if (!replaced || ++st.epochRetries > 1) await st.backoff();
      return;
    }
    if (err.regionNotFound) {
      // This store has no such peer (removed, or not created yet): another peer, fresh region info.
      st.avoid.add(storeId);
      this.cache.invalidate(e.id);
      await st.backoff();
      return;
    }
    if (err.keyNotInRegion) {
      this.cache.invalidate(e.id);
      await st.backoff();
      return;
    }
    if (err.storeNotMatch) {
      this.cache.invalidateStore(storeId);
      this.cache.invalidate(e.id);
      await st.backoff();
      return;
    }
    if (err.serverIsBusy || err.staleCommand) {
      await st.backoff();
      return;
    }
    if (err.timeout) {
      // Perhaps a deposed leader that does not know it yet: look elsewhere too.
      st.avoid.add(storeId);
      this.cache.advancePeer(e, peer);
      await st.backoff();
      return;
    }
    // A region error of a kind this client does not know: refresh and retry.
    this.cache.invalidate(e.id);
    await st.backoff();
  }
}
