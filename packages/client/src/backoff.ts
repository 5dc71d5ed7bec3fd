// The retry state of one client operation: its deadline, its backoff (exponential with jitter,
// capped), the number of attempts and what failed last (for the final error message).
import type { errorpb } from '@tskv/proto';
import { RegionUnavailableError } from './errors.js';

export interface BackoffOptions {
  /** First backoff (ms). */
  baseMs?: number;
  /** Cap of the backoff (ms). */
  maxMs?: number;
  /** Random source in [0, 1), for tests. */
  random?: () => number;
}

export class RetryState {
  attempts = 0;
  lastError = 'no attempt yet';
  lastRegionError: errorpb.IError | null = null;
  private nextMs: number;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  readonly started = Date.now();

  constructor(
    readonly what: string,
    readonly deadline: number,
    opts: BackoffOptions = {},
  ) {
    this.baseMs = opts.baseMs ?? 10;
    this.maxMs = opts.maxMs ?? 1_000;
    this.random = opts.random ?? Math.random;
    this.nextMs = this.baseMs;
  }

  remaining(): number {
    return this.deadline - Date.now();
  }

  /**
   * An attempt with less than MIN_ATTEMPT_MS left cannot be answered (a round trip with an
   * fsync on the way); making it would only replace the informative last error with a timeout.
   */
  expired(): boolean {
    return this.deadline - Date.now() < RetryState.MIN_ATTEMPT_MS;
  }

  static readonly MIN_ATTEMPT_MS = 5;

  /** Records a failure (what the final error will say if nothing better follows). */
  note(msg: string, regionError: errorpb.IError | null = null): void {
    this.lastError = msg;
    this.lastRegionError = regionError;
  }

  /** Throws RegionUnavailableError if the deadline has passed. */
  check(): void {
    if (this.expired()) throw this.giveUp();
  }

  giveUp(): RegionUnavailableError {
    const ms = Date.now() - this.started;
    return new RegionUnavailableError(
      `${this.what}: gave up after ${ms} ms and ${this.attempts} attempt${this.attempts === 1 ? '' : 's'}; last: ${this.lastError}`,
      this.attempts,
      this.lastRegionError,
    );
  }

  /** Sleeps the next backoff (jittered in [d/2, d], never past the deadline), then doubles it. */
  async backoff(): Promise<void> {
    const d = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    const ms = Math.min(d / 2 + (d / 2) * this.random(), Math.max(0, this.remaining()));
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }
}
