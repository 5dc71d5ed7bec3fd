// Size limits of client requests, checked before anything is proposed. A request
// over a limit is answered in `error` naming the limit and the offending key or pair; a batch with
// one bad pair is refused whole (a batch is one raft entry: it is applied whole or not at all).
//
// Why these bounds: a command is ONE raft entry, and an entry travels whole in a MsgAppend inside
// a gRPC message (MAX_MESSAGE_BYTES, 64 MiB) and sits whole in the raft log cache of every
// follower. maxRequestBytes keeps the largest entry a fraction of the gRPC limit, so no accepted
// write can produce a raft message that peers refuse (which would wedge the region).
import { MAX_MESSAGE_BYTES } from '@tskv/rpc';

export interface InputLimits {
  /** Bytes of a key (TiKV: 8 KiB, `max-key-size`). */
  maxKeyBytes: number;
  /** Bytes of a value (TiKV: raft-entry-max-size, 8 MiB). */
  maxValueBytes: number;
  /** Keys of a RawBatchGet, pairs of a RawBatchPut. */
  maxBatchKeys: number;
  /** Keys plus values of one request (a batch put is one raft entry). */
  maxRequestBytes: number;
}

export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  maxKeyBytes: 8 * 1024,
  maxValueBytes: 8 * 1024 * 1024,
  maxBatchKeys: 10_000,
  maxRequestBytes: 16 * 1024 * 1024,
});

/** A limit set that could accept writes the raft transport cannot carry, or none at all: an error message. */
export function inputLimitsProblem(l: InputLimits): string | null {
  for (const k of Object.keys(DEFAULT_INPUT_LIMITS) as (keyof InputLimits)[]) {
    const v = l[k];
    if (!Number.isInteger(v) || v < 1) return `'${k}' must be an integer >= 1, got ${String(v)}`;
  }
  const cap = MAX_MESSAGE_BYTES / 2;
  if (l.maxRequestBytes > cap)
    return (
      `'maxRequestBytes' (${l.maxRequestBytes}) must be at most ${cap}: a request is one raft entry, sent whole in a gRPC ` +
      `message of at most ${MAX_MESSAGE_BYTES} bytes`
    );
  if (l.maxValueBytes > l.maxRequestBytes)
    return `'maxValueBytes' (${l.maxValueBytes}) must not exceed 'maxRequestBytes' (${l.maxRequestBytes})`;
  if (l.maxKeyBytes > l.maxRequestBytes) return `'maxKeyBytes' (${l.maxKeyBytes}) must not exceed 'maxRequestBytes' (${l.maxRequestBytes})`;
  return null;
}

/** The request error of a bad input (answered in `error`, never proposed). */
export class BadRequest extends Error {}

/** Tracks one request's keys and values against the limits; throws BadRequest naming what broke which limit. */
export class InputCheck {
  private bytes = 0;

  constructor(private readonly limits: InputLimits) {}

  /** A key that must be non-empty (TiKV refuses empty raw keys too: they cannot be stored). */
  key(key: Uint8Array | null | undefined, what = 'key'): Uint8Array {
    if (!key || key.length === 0) throw new BadRequest(`${what} must not be empty`);
    if (key.length > this.limits.maxKeyBytes)
      throw new BadRequest(`${what} is ${key.length} bytes, over the limit of ${this.limits.maxKeyBytes} (maxKeyBytes)`);
    return this.count(key, what);
  }

  /** A key that may be empty (a scan's start: the region's start). */
  optionalKey(key: Uint8Array | null | undefined, what: string): Uint8Array {
    const k = key ?? new Uint8Array(0);
    if (k.length > this.limits.maxKeyBytes)
      throw new BadRequest(`${what} is ${k.length} bytes, over the limit of ${this.limits.maxKeyBytes} (maxKeyBytes)`);
    return this.count(k, what);
  }

  /** A value (may be empty: an empty value is a value, not an absence). */
  value(value: Uint8Array | null | undefined, what = 'value'): Uint8Array {
    const v = value ?? new Uint8Array(0);
    if (v.length > this.limits.maxValueBytes)
      throw new BadRequest(`${what} is ${v.length} bytes, over the limit of ${this.limits.maxValueBytes} (maxValueBytes)`);
    return this.count(v, what);
  }

  /** The number of keys or pairs of a batch. */
  batch(n: number, what: string): void {
    if (n === 0) throw new BadRequest(`no ${what}`);
    if (n > this.limits.maxBatchKeys) throw new BadRequest(`${n} ${what}, over the limit of ${this.limits.maxBatchKeys} (maxBatchKeys)`);
  }

  private count(b: Uint8Array, what: string): Uint8Array {
    this.bytes += b.length;
    if (this.bytes > this.limits.maxRequestBytes)
      throw new BadRequest(
        `the request's keys and values reach ${this.bytes} bytes at ${what}, over the limit of ${this.limits.maxRequestBytes} ` +
          `(maxRequestBytes)`,
      );
    return b;
  }
}
