// The scheduler's configuration: every field with its default, and the validation shared by
// SchedulerServer.start (a Partial<SchedulerConfig>) and the command's --config file (JSON).
// Validation is strict on purpose: a misspelt key in a config file silently falling back to a
// default is the kind of mistake that only shows up when a store dies.

export interface SchedulerConfig {
  /** Voters every region should have. */
  maxReplicas: number;
  /** How often the checkers and balancers run. */
  scheduleIntervalMs: number;
  /** A store silent this long is down: its replicas are replaced elsewhere (PD: 30 min). */
  maxStoreDownTimeMs: number;
  /**
   * A store silent this long (or never heard from since this scheduler started) is not given
   * new replicas or leaders, and does not count as a live voter when a removal is checked
   * against the quorum. Stores heartbeat every 10 s by default.
   */
  storeDisconnectMs: number;
  /** An operator whose current step makes no progress for this long is dropped. */
  operatorTimeoutMs: number;
  /** balance-leader moves a leader only when the leader counts differ by more than this (>= 1, so it cannot oscillate). */
  leaderBalanceTolerance: number;
  /** Concurrent operators of each kind (the replica checker, balance-leader, balance-region). */
  replicaScheduleLimit: number;
  leaderScheduleLimit: number;
  regionScheduleLimit: number;
  enableReplicaChecker: boolean;
  enableBalanceLeader: boolean;
  enableBalanceRegion: boolean;
  /** A store whose used/capacity ratio exceeds this gets no new replicas (ignored when it reports no capacity). */
  lowSpaceRatio: number;
  /** Regions never scheduled (no operator is created or handed out for them). */
  pausedRegions: number[];
  /** Ids are persisted this far ahead of the last one handed out. */
  idAllocStep: number;
  /** Timestamps are persisted this far (ms) ahead of the last one handed out. */
  tsoSaveWindowMs: number;
}

export const DEFAULT_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  maxReplicas: 3,
  scheduleIntervalMs: 1000,
  maxStoreDownTimeMs: 30 * 60_000,
  storeDisconnectMs: 20_000,
  operatorTimeoutMs: 30_000,
  leaderBalanceTolerance: 1,
  replicaScheduleLimit: 64,
  leaderScheduleLimit: 4,
  regionScheduleLimit: 4,
  enableReplicaChecker: true,
  enableBalanceLeader: true,
  enableBalanceRegion: true,
  lowSpaceRatio: 0.8,
  pausedRegions: [] as number[],
  idAllocStep: 1000,
  tsoSaveWindowMs: 3000,
});

type Kind = { type: 'int'; min: number } | { type: 'ratio' } | { type: 'bool' } | { type: 'ids' };

const SCHEMA: Record<keyof SchedulerConfig, Kind> = {
  maxReplicas: { type: 'int', min: 1 },
  scheduleIntervalMs: { type: 'int', min: 1 },
  maxStoreDownTimeMs: { type: 'int', min: 1 },
  storeDisconnectMs: { type: 'int', min: 1 },
  operatorTimeoutMs: { type: 'int', min: 1 },
  leaderBalanceTolerance: { type: 'int', min: 1 },
  replicaScheduleLimit: { type: 'int', min: 0 },
  leaderScheduleLimit: { type: 'int', min: 0 },
  regionScheduleLimit: { type: 'int', min: 0 },
  enableReplicaChecker: { type: 'bool' },
  enableBalanceLeader: { type: 'bool' },
  enableBalanceRegion: { type: 'bool' },
  lowSpaceRatio: { type: 'ratio' },
  pausedRegions: { type: 'ids' },
  idAllocStep: { type: 'int', min: 1 },
  tsoSaveWindowMs: { type: 'int', min: 100 },
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function check(key: string, kind: Kind, v: unknown): void {
  const bad = (what: string): never => {
    throw new ConfigError(`config key "${key}": ${what}, got ${JSON.stringify(v)}`);
  };
  switch (kind.type) {
    case 'int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad('expected an integer');
      if ((v as number) < kind.min) bad(`expected at least ${kind.min}`);
      return;
    case 'ratio':
      if (typeof v !== 'number' || !(v > 0 && v <= 1)) bad('expected a number in (0, 1]');
      return;
    case 'bool':
      if (typeof v !== 'boolean') bad('expected true or false');
      return;
    case 'ids':
      if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x > 0)) bad('expected an array of region ids');
      return;
  }
}

/** The defaults overridden by `partial`; throws ConfigError naming the first unknown or ill-typed key. */
export function resolveConfig(partial: unknown = {}): SchedulerConfig {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) throw new ConfigError('config must be a JSON object');
  const out: SchedulerConfig = { ...DEFAULT_CONFIG, pausedRegions: [...DEFAULT_CONFIG.pausedRegions] };
  for (const [key, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (!Object.hasOwn(SCHEMA, key)) throw new ConfigError(`unknown config key "${key}"`);
    const k = key as keyof SchedulerConfig;
    check(key, SCHEMA[k], v);
    (out as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
  }
  return out;
}

/** The keys a config may hold (for help texts and the README). */
export const CONFIG_KEYS: readonly (keyof SchedulerConfig)[] = Object.freeze(Object.keys(SCHEMA) as (keyof SchedulerConfig)[]);
