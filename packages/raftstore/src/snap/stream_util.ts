// Stream plumbing for the snapshot transfer: backpressure on tar-stream (streamx) writables,
// error mapping for async iterators, and cutting a byte stream into bounded chunks.
import type { Extract, Pack } from 'tar-stream';

type Drainable = Extract | ReturnType<Pack['entry']>;

/**
 * Resolves once `s` has taken its buffered writes (after write() returned false); rejects if it
 * is, or becomes, destroyed. A destroyed streamx stream never emits 'drain' (nor 'close' again),
 * so checking first is what keeps this from hanging.
 */
export function drained(s: Drainable): Promise<void> {
  if (s.destroyed || s.destroying) return Promise.reject(new Error('stream destroyed'));
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      s.off('close', onClose);
      resolve();
    };
    const onClose = (): void => {
      s.off('drain', onDrain);
      reject(new Error('stream destroyed'));
    };
    s.once('drain', onDrain);
    s.once('close', onClose);
  });
}

/** Iterates `src`, passing errors thrown by the source (not by the loop body) through `wrap`. */
export async function* mapErrors<T>(src: AsyncIterable<T>, wrap: (e: unknown) => unknown): AsyncGenerator<T> {
  const it = src[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let r: IteratorResult<T>;
      try {
        r = await it.next();
      } catch (e) {
        finished = true;
        throw wrap(e);
      }
      if (r.done) {
        finished = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}

/** Collects bytes and hands them out in chunks of exactly `size` bytes (the last one shorter). */
export class Chunker {
  private parts: Buffer[] = [];
  private len = 0;

  constructor(private readonly size: number) {
    if (!Number.isInteger(size) || size <= 0) throw new RangeError(`invalid chunk size ${size}`);
  }

  *push(data: Buffer): Generator<Buffer> {
    while (data.byteLength > 0) {
      const take = Math.min(this.size - this.len, data.byteLength);
      this.parts.push(data.subarray(0, take));
      this.len += take;
      data = data.subarray(take);
      if (this.len === this.size) yield this.take();
    }
  }

  /** The partial last chunk, if any. */
  flush(): Buffer | null {
    return this.len > 0 ? this.take() : null;
  }

  private take(): Buffer {
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.len);
    this.parts = [];
    this.len = 0;
    return out;
  }
}
