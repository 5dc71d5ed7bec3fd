// The admin API: JSON over HTTP on the scheduler's status address (POST changes, GET lists).
// What `tinykv region|store|operators|scheduler` use.
//
//   POST /admin/operators                        {"name":"transfer-leader","regionId":7,"storeId":2}
//                                                {"name":"add-peer"|"remove-peer","regionId":7,"storeId":2}
//                                                {"name":"split-region","key":"<hex>"}
//   GET  /admin/operators                        in flight, and the last ones to end (how and why)
//   GET  /admin/operators/<id>                   one of them
//   GET  /admin/stores/<id>                      state, replicas and leaders left, operators touching it
//   POST /admin/stores/<id>/state/<Up|Offline>   take a store out (its replicas move away) or back
//   GET  /admin/schedulers                       the schedulers and whether each is paused
//   POST /admin/schedulers/<name>/pause|resume   (not persisted: a restart goes back to the config)
//   POST /admin/regions/<id>/pause|resume        stop / resume scheduling a region (not persisted)
//
// Answers: 200 and a JSON object, or {"error": "..."} with 400 (malformed request), 404 (no such
// region, store, operator, scheduler or route), 405 (wrong method) or 409 (refused: the reason
// says why; nothing changed). An admin operator goes through the same controller as the
// schedulers' (one operator per region, the same quorum and store health rules, handed to the
// region's leader in heartbeat answers) and is checked before it is added, so a refusal names
// the problem instead of an operator failing later.
import type http from 'node:http';
import { metapb } from '@tskv/proto';
import { findPeer } from '@tskv/util';
import type { RegionInfo } from './cluster_state.js';
import type { SchedulerConfig } from './config.js';
import type { SchedulerCore } from './core.js';
import { ErrorType, HeaderError } from './errors.js';
import { isJoint, isLearner, isVoter, showKey } from './meta.js';
import { describe, newOperator, type Operator, operatorSummary, type Step, strictlyInside } from './operator.js';
import type { EndedOperator } from './operator_controller.js';
import { canReceive, isDown, isLive, isPending, keepsQuorum, type SchedulingContext, storeIsLive } from './schedulers/context.js';
import { buildContext } from './schedulers/index.js';
import { pickLeaderTarget } from './schedulers/replica_checker.js';

const { Up, Offline, Tombstone } = metapb.StoreState;

export class AdminError extends Error {
  override name = 'AdminError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (m: string): AdminError => new AdminError(400, m);
const notFound = (m: string): AdminError => new AdminError(404, m);
const refused = (m: string): AdminError => new AdminError(409, m);

/** The schedulers that can be paused, by the names pd-ctl uses, and the config switch of each. */
export const SCHEDULERS: Readonly<Record<string, keyof SchedulerConfig>> = Object.freeze({
  'balance-leader': 'enableBalanceLeader',
  'balance-region': 'enableBalanceRegion',
  'replica-checker': 'enableReplicaChecker',
});

export const OPERATOR_NAMES = ['transfer-leader', 'add-peer', 'remove-peer', 'split-region'] as const;
type OperatorName = (typeof OPERATOR_NAMES)[number];

interface OperatorRequest {
  name: OperatorName;
  regionId: number;
  storeId: number;
  key: Uint8Array;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw bad(`${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function parseOperatorRequest(body: unknown): OperatorRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the body must be a JSON object');
  const b = body as Record<string, unknown>;
  const name = b.name;
  if (typeof name !== 'string' || !(OPERATOR_NAMES as readonly string[]).includes(name))
    throw bad(`unknown operator ${JSON.stringify(name)}: expected one of ${OPERATOR_NAMES.join(', ')}`);
  if (name === 'split-region') {
    if (typeof b.key !== 'string' || !/^([0-9a-fA-F]{2})*$/.test(b.key)) throw bad('split-region needs "key": the split key in hex');
    if (b.key.length === 0) throw bad('the split key is empty: the first region already starts there');
    return { name, regionId: 0, storeId: 0, key: Buffer.from(b.key, 'hex') };
  }
  return {
    name: name as OperatorName,
    regionId: positiveInt(b.regionId, 'regionId'),
    storeId: positiveInt(b.storeId, 'storeId'),
    key: new Uint8Array(0),
  };
}

/** A region an admin operator may be made for: known, with a leader, no operator, not paused, not joint. */
function regionFor(ctx: SchedulingContext, id: number): RegionInfo {
  const info = ctx.state.regions.get(id);
  if (!info) throw notFound(`region ${id} not found`);
  return checkRegion(ctx, info);
}

function checkRegion(ctx: SchedulingContext, info: RegionInfo): RegionInfo {
  const id = Number(info.region.id);
  const op = ctx.ops.get(id);
  if (op) throw refused(`region ${id} already has an operator in flight (operator ${op.id}: ${describe(op)}): one at a time`);
  if (ctx.cfg.pausedRegions.includes(id)) throw refused(`region ${id} is paused: resume it first (POST /admin/regions/${id}/resume)`);
  if (!info.leader || info.lastHeartbeatMs === 0)
    throw refused(`region ${id} has no known leader yet (not heard from since the scheduler started)`);
  if (isJoint(info.region)) throw refused(`region ${id} is in a joint configuration`);
  return info;
}

/** Why the store cannot take a leader or a new replica (null: it can). */
function storeProblem(ctx: SchedulingContext, id: number): AdminError | null {
  const s = ctx.state.stores.get(id);
  if (!s) return notFound(`store ${id} not found`);
  const st = s.meta.state ?? Up;
  if (st === Tombstone) return refused(`store ${id} is a tombstone (removed from the cluster)`);
  if (st === Offline) return refused(`store ${id} is offline (its replicas are being moved away)`);
  if (!isLive(ctx, id))
    return refused(
      s.lastHeartbeatMs === 0
        ? `store ${id} is down: not heard from since the scheduler started`
        : `store ${id} is down: last heartbeat ${secs(ctx.now - s.lastHeartbeatMs)} ago`,
    );
  return null;
}

function requireStore(ctx: SchedulingContext, id: number): void {
  const p = storeProblem(ctx, id);
  if (p) throw p;
}

/** The operator an admin request asks for, after every check; a note for the caller if the schedulers will react to it. */
function plan(ctx: SchedulingContext, req: OperatorRequest): { op: Operator; note?: string } {
  const now = ctx.now;
  if (req.name === 'split-region') {
    const info = ctx.state.regions.findByKey(req.key);
    if (!info) throw notFound(`no region holds key ${showKey(req.key)}`);
    if (!strictlyInside(req.key, info.region))
      throw refused(`${showKey(req.key)} is already a region boundary (region ${info.region.id} starts there)`);
    checkRegion(ctx, info);
    return { op: newOperator(info, 'admin-split-region', [{ type: 'split-region', keys: [req.key] }], now) };
  }
  const info = regionFor(ctx, req.regionId);
  const rid = req.regionId;
  const sid = req.storeId;
  const peer = findPeer(info.region, sid);
  const voters = (info.region.peers ?? []).filter(isVoter);
  const maxReplicas = ctx.cfg.maxReplicas;
  switch (req.name) {
    case 'transfer-leader': {
      if (!ctx.state.stores.has(sid)) throw notFound(`store ${sid} not found`);
      if (!peer) throw refused(`region ${rid} has no peer on store ${sid}`);
      if (Number(info.leader!.id) === Number(peer.id)) throw refused(`the leader of region ${rid} is already on store ${sid}`);
      requireStore(ctx, sid);
      if (!isVoter(peer)) throw refused(`the peer of region ${rid} on store ${sid} is a learner: only a voter can lead`);
      if (isPending(info, peer.id)) throw refused(`the peer of region ${rid} on store ${sid} is still catching up (pending)`);
      const step: Step = { type: 'transfer-leader', fromStoreId: Number(info.leader!.storeId), to: { id: peer.id, storeId: peer.storeId } };
      const note = ctx.cfg.enableBalanceLeader ? 'balance-leader may move it again later (pause it to keep the leader there)' : undefined;
      return { op: newOperator(info, 'admin-transfer-leader', [step], now), note };
    }
    case 'add-peer': {
      if (!ctx.state.stores.has(sid)) throw notFound(`store ${sid} not found`);
      if (peer) throw refused(`region ${rid} already has a peer on store ${sid} (peer ${peer.id}${isLearner(peer) ? ', a learner' : ''})`);
      requireStore(ctx, sid);
      if (!canReceive(ctx, sid)) throw refused(`store ${sid} cannot take a replica now (busy or short of space)`);
      if (!keepsQuorum(ctx, voters, null, sid))
        throw refused(`adding a voter on store ${sid} would leave region ${rid} without a quorum of live voters`);
      const added = { id: ctx.allocId(), storeId: sid };
      const steps: Step[] = [
        { type: 'add-learner', peer: added },
        { type: 'promote-learner', peer: added },
      ];
      const note =
        voters.length + 1 > maxReplicas && ctx.cfg.enableReplicaChecker
          ? `region ${rid} will have ${voters.length + 1} voters, more than maxReplicas ${maxReplicas}: the replica-checker removes one again (pause it to keep them)`
          : undefined;
      return { op: newOperator(info, 'admin-add-peer', steps, now), note };
    }
    case 'remove-peer': {
      if (!peer) {
        if (!ctx.state.stores.has(sid)) throw notFound(`store ${sid} not found`);
        throw refused(`region ${rid} has no peer on store ${sid}`);
      }
      const steps: Step[] = [];
      if (isVoter(peer)) {
        if (voters.length === 1)
          throw refused(`the peer on store ${sid} is the only voter of region ${rid}: removing it would lose the region`);
        if (!keepsQuorum(ctx, voters, Number(peer.id))) {
          const left = voters.filter((v) => Number(v.id) !== Number(peer.id));
          const live = left.filter((v) => isLive(ctx, Number(v.storeId))).length;
          throw refused(
            `removing the voter on store ${sid} would leave region ${rid} ${live} live voters of ${left.length}: short of a quorum (${Math.floor(left.length / 2) + 1})`,
          );
        }
      }
      // The leader never removes itself: the leadership moves to a live, caught-up voter first.
      if (Number(info.leader!.id) === Number(peer.id)) {
        const to = pickLeaderTarget(ctx, info, Number(peer.id));
        if (!to) throw refused(`the peer on store ${sid} leads region ${rid} and no other live, caught-up voter can take over`);
        steps.push({ type: 'transfer-leader', fromStoreId: sid, to: { id: to.id, storeId: to.storeId } });
      }
      steps.push({ type: 'remove-peer', peer: { id: peer.id, storeId: peer.storeId, role: peer.role, isLearner: peer.isLearner } });
      const note =
        isVoter(peer) && voters.length - 1 < maxReplicas && ctx.cfg.enableReplicaChecker
          ? `region ${rid} will have ${voters.length - 1} voters, fewer than maxReplicas ${maxReplicas}: the replica-checker adds one again (pause it to keep it so)`
          : undefined;
      return { op: newOperator(info, 'admin-remove-peer', steps, now), note };
    }
  }
}

/** An operator as the API shows it: its steps, the current one, and how it ended. */
export function operatorJson(op: Operator, ended: EndedOperator | null, now = Date.now()): Record<string, unknown> {
  return {
    ...operatorSummary(op, now),
    state: ended ? ended.how : 'running',
    ...(ended ? { endedMs: ended.endedMs, tookMs: ended.endedMs - op.createdMs } : {}),
    ...(ended && ended.how !== 'finished' ? { reason: ended.why } : {}),
  };
}

async function createOperator(core: SchedulerCore, body: unknown): Promise<Record<string, unknown>> {
  const req = parseOperatorRequest(body);
  // Checked and added in one synchronous run (no heartbeat or scheduling round in between), with
  // an id reserved in case the operator needs a new peer.
  return core.ids.withReserved(1, (take) => {
    const now = Date.now();
    const ctx = buildContext(core.state, core.ops, core.cfg, now, take);
    const { op, note } = plan(ctx, req);
    if (!core.ops.add(op)) throw refused(`region ${op.regionId} already has an operator in flight`);
    core.logger.info('admin operator added', { operatorId: op.id, regionId: op.regionId, operator: describe(op) });
    return { operator: operatorJson(op, null, now), ...(note ? { note } : {}) };
  });
}

function listOperators(core: SchedulerCore): Record<string, unknown> {
  const now = Date.now();
  return {
    operators: [...core.ops.all()].sort((a, b) => a.id - b.id).map((op) => operatorJson(op, null, now)),
    recent: [...core.ops.recent()]
      .reverse()
      .slice(0, 50)
      .map((e) => operatorJson(e.op, e, now)),
  };
}

function touches(op: Operator, storeId: number): boolean {
  return op.steps.some((s) => {
    if (s.type === 'transfer-leader') return s.fromStoreId === storeId || Number(s.to.storeId) === storeId;
    if (s.type === 'split-region') return false;
    return Number(s.peer.storeId) === storeId;
  });
}

export function storeJson(core: SchedulerCore, id: number, now = Date.now()): Record<string, unknown> {
  const s = core.state.stores.get(id);
  if (!s) throw notFound(`store ${id} not found`);
  const state = s.meta.state ?? Up;
  const load = core.state.storeLoads().get(id);
  return {
    storeId: id,
    address: s.meta.address,
    state: metapb.StoreState[state],
    live: storeIsLive(core.state, core.cfg, now, id),
    down: state === Up && isDown(s, core.cfg, now),
    lastHeartbeatMs: s.lastHeartbeatMs,
    regionCount: load?.regions ?? 0,
    leaderCount: load?.leaders ?? 0,
    operators: [...core.ops.all()].filter((op) => touches(op, id)).length,
  };
}

async function setStoreState(core: SchedulerCore, id: number, to: 'Up' | 'Offline'): Promise<Record<string, unknown>> {
  const s = core.state.stores.get(id);
  if (!s) throw notFound(`store ${id} not found`);
  const state = s.meta.state ?? Up;
  if (state === Tombstone) throw refused(`store ${id} is a tombstone (removed from the cluster)`);
  const want = to === 'Up' ? Up : Offline;
  if (state === want) return { ...storeJson(core, id), changed: false };
  const now = Date.now();
  let note: string | undefined;
  if (want === Offline) {
    const replicas = core.state.regionsOnStore(id).length;
    const others = [...core.state.stores.keys()].filter((o) => o !== id && storeIsLive(core.state, core.cfg, now, o)).length;
    if (replicas > 0 && others < core.cfg.maxReplicas)
      throw refused(
        `store ${id} holds ${replicas} replica${replicas === 1 ? '' : 's'} and only ${others} other store${others === 1 ? ' is' : 's are'} up: ` +
          `placing ${core.cfg.maxReplicas} replicas of each region elsewhere needs ${core.cfg.maxReplicas} (add a store first)`,
      );
    if (replicas > 0 && !core.cfg.enableReplicaChecker) note = 'the replica-checker is paused: the replicas move once it is resumed';
  }
  try {
    await core.setStoreState(id, want);
  } catch (e) {
    if (e instanceof HeaderError) throw e.type === ErrorType.STORE_NOT_FOUND ? notFound(e.message) : refused(e.message);
    throw e;
  }
  return { ...storeJson(core, id), changed: true, ...(note ? { note } : {}) };
}

function listSchedulers(core: SchedulerCore): Record<string, unknown> {
  return { schedulers: Object.entries(SCHEDULERS).map(([name, key]) => ({ name, paused: !core.cfg[key] })) };
}

function pauseScheduler(core: SchedulerCore, name: string, pause: boolean): Record<string, unknown> {
  const key = SCHEDULERS[name];
  if (!key) throw notFound(`unknown scheduler "${name}": expected one of ${Object.keys(SCHEDULERS).join(', ')}`);
  const was = !core.cfg[key];
  (core.cfg as unknown as Record<string, boolean>)[key] = !pause;
  if (was !== pause) core.logger.info(pause ? 'scheduler paused' : 'scheduler resumed', { scheduler: name });
  return { name, paused: pause, changed: was !== pause };
}

function pauseRegion(core: SchedulerCore, id: number, pause: boolean): Record<string, unknown> {
  const paused = core.cfg.pausedRegions.filter((r) => r !== id);
  if (pause) paused.push(id);
  core.cfg.pausedRegions = paused;
  return { regionId: id, paused: pause };
}

type Method = 'GET' | 'POST';
interface Route {
  method: Method;
  path: RegExp;
  run: (core: SchedulerCore, m: RegExpExecArray, body: unknown) => Promise<Record<string, unknown>> | Record<string, unknown>;
}

const ROUTES: Route[] = [
  { method: 'GET', path: /^\/admin\/operators$/, run: (core) => listOperators(core) },
  { method: 'POST', path: /^\/admin\/operators$/, run: (core, _m, body) => createOperator(core, body) },
  {
    method: 'GET',
    path: /^\/admin\/operators\/(\d+)$/,
    run: (core, m) => {
      const found = core.ops.find(Number(m[1]));
      if (!found) throw notFound(`operator ${m[1]} not found (not in flight, and not among the recently ended)`);
      return operatorJson(found.op, found.ended);
    },
  },
  { method: 'GET', path: /^\/admin\/stores\/(\d+)$/, run: (core, m) => storeJson(core, Number(m[1])) },
  {
    method: 'POST',
    path: /^\/admin\/stores\/(\d+)\/state\/(Up|Offline)$/,
    run: (core, m) => setStoreState(core, Number(m[1]), m[2] as 'Up' | 'Offline'),
  },
  { method: 'GET', path: /^\/admin\/schedulers$/, run: (core) => listSchedulers(core) },
  {
    method: 'POST',
    path: /^\/admin\/schedulers\/([^/]+)\/(pause|resume)$/,
    run: (core, m) => pauseScheduler(core, decodeURIComponent(m[1]!), m[2] === 'pause'),
  },
  {
    method: 'POST',
    path: /^\/admin\/regions\/(\d+)\/(pause|resume)$/,
    run: (core, m) => pauseRegion(core, Number(m[1]), m[2] === 'pause'),
  },
];

/** What a request to an /admin/ path gets: a status and a JSON object. */
export async function adminAnswer(
  core: SchedulerCore,
  method: string,
  path: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  try {
    const routes = ROUTES.filter((r) => r.path.test(path));
    if (routes.length === 0) throw notFound(`no admin endpoint ${path}`);
    const route = routes.find((r) => r.method === method);
    if (!route) throw new AdminError(405, `${path} takes ${routes.map((r) => r.method).join(' or ')}, not ${method}`);
    let parsed: unknown = null;
    if (method === 'POST' && body.trim() !== '') {
      try {
        parsed = JSON.parse(body);
      } catch {
        throw bad('the body is not JSON');
      }
    }
    return { status: 200, json: await route.run(core, route.path.exec(path)!, parsed) };
  } catch (e) {
    if (e instanceof AdminError) return { status: e.status, json: { error: e.message } };
    if (e instanceof HeaderError) return { status: e.type === ErrorType.STORE_NOT_FOUND ? 404 : 409, json: { error: e.message } };
    core.logger.error('admin request failed', { method, path, err: String(e) });
    return { status: 500, json: { error: e instanceof Error ? e.message : String(e) } };
  }
}

const MAX_BODY = 64 * 1024;

/** Serves one /admin/ request of the status server. */
export function serveAdmin(core: SchedulerCore, req: http.IncomingMessage, res: http.ServerResponse, path: string): void {
  const send = (status: number, json: Record<string, unknown>): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(json));
  };
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_BODY) return send(413, { error: `the body is larger than ${MAX_BODY} bytes` });
    adminAnswer(core, req.method ?? 'GET', path, Buffer.concat(chunks).toString('utf8')).then(
      (a) => send(a.status, a.json),
      (e: unknown) => send(500, { error: String(e) }),
    );
  });
}
