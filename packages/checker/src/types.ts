// The public data types of the checker: a recorded operation, a sequential model, a verdict.

/** 'ok': completed with a known result. 'unknown': timed out or lost; may or may not have taken effect. */
export type OpStatus = 'ok' | 'unknown';

export interface Operation<I = unknown, O = unknown> {
  /** Unique in the history. */
  id: number;
  clientId: number;
  input: I;
  /** Undefined when status is 'unknown'. */
  output?: O;
  /** Invocation time (ms, monotonic, e.g. performance.now()). */
  call: number;
  /** Completion time; Infinity when status is 'unknown' (the checker treats any unknown op as open-ended). */
  return: number;
  status: OpStatus;
}

/**
 * A sequential specification. States must be treated as immutable: step returns a new state and
 * the search keeps old ones on its backtracking stack.
 */
export interface Model<S, I, O> {
  name: string;
  init(): S;
  /** Applies input to state; returns [legal, newState]. For status 'unknown' output is undefined and any outcome is legal. */
  step(state: S, input: I, output: O | undefined): [boolean, S];
  /**
   * A canonical string of a state, for memoizing (state, linearized-set) pairs. If `equal` is
   * given, key may be a fingerprint (equal keys, possibly different states): the cache then
   * confirms a hit with equal().
   */
  key(state: S): string;
  /** Exact state equality, when key() is only a fingerprint. */
  equal?(a: S, b: S): boolean;
  /**
   * Rejects a malformed op (returns why, or undefined if fine): e.g. an 'ok' read without a
   * result, which step() could not tell from an unknown one. checkHistory throws on it.
   */
  validate?(op: Operation<I, O>): string | undefined;
  /** Splits a history into independent sub-histories (P-compositionality), e.g. by key. */
  partition?(ops: Operation<I, O>[]): Map<string, Operation<I, O>[]>;
  /**
   * Removes ops of one partition that provably cannot change the verdict (e.g. reads with an
   * unknown outcome, unknown writes nobody observed). Must not remove 'ok' ops that constrain.
   */
  prune?(ops: Operation<I, O>[]): Operation<I, O>[];
  /**
   * For the minimizer: what an op makes observable (`produces`, e.g. a put's value) and what a
   * read's result depends on (`observes`). Dropping the last producer of a token also drops the
   * ops observing it, so a minimal history never "fails" only because the write a read saw was
   * removed (which would point at the wrong op).
   */
  tokens?(op: Operation<I, O>): { produces?: string[]; observes?: string[] };
  /**
   * For the minimizer: `op` without its observations of the `lost` tokens (a copy), or null to
   * drop it (the default). Only sound where forgetting a producer everywhere is a projection
   * that keeps linearizable histories linearizable (a set read minus an element whose append
   * was dropped); a register get must be dropped instead.
   */
  project?(op: Operation<I, O>, lost: ReadonlySet<string>): Operation<I, O> | null;
  /** For reports: the op's input and output in a few words. */
  describe?(op: Operation<I, O>): string;
  /** For reports: a readable state. */
  describeState?(state: S): string;
}

export interface CheckOptions {
  /** Budget for the search over all partitions (default 60 000 ms). Exceeding it gives 'timeout'. */
  timeoutMs?: number;
  /** Shrink a failing partition to a small still-illegal history (default true). */
  minimize?: boolean;
  /** Budget for the minimizer, on top of timeoutMs (default 10 000 ms). */
  minimizeTimeoutMs?: number;
}

export interface CheckFailure<I, O> {
  /** The failing partition's key. */
  partition: string;
  /** All ops of that partition, as given (before pruning). */
  ops: Operation<I, O>[];
  /**
   * A minimized, still illegal history: a subset of the partition's ops (after pruning), except
   * that with Model.project (the set model) a read may show fewer elements than recorded, those
   * whose appends were dropped. The pruned partition when minimization is off.
   */
  minimal: Operation<I, O>[];
  /** Why `minimal` is illegal: a longest linearizable prefix and what could not follow it. */
  explanation: string;
}

export interface CheckResult<I, O> {
  verdict: 'ok' | 'illegal' | 'timeout';
  /** Number of partitions of the history. */
  partitions: number;
  /** For 'illegal': the failing partition's key, its ops, and a minimized failing subset. */
  failure?: CheckFailure<I, O>;
  /** For 'timeout': keys of the partitions whose search did not finish. */
  timedOut?: string[];
  elapsedMs: number;
}
