// The protobuf wire underneath the lossless codec: a growable writer and a bounds-checked reader
// of tags, lengths and varints of up to 64 bits (as a low and a high 32-bit half, so no bigint
// is made unless a u64 is asked for), and the field-path errors both raise.

// ---- Errors

/** Raised inside the codec; the field path is prepended while it unwinds. */
export class FieldError extends Error {
  readonly path: string[] = [];
}

export function at(e: unknown, segment: string): unknown {
  if (e instanceof FieldError) e.path.unshift(segment);
  return e;
}

export function pathOf(e: FieldError): string {
  let s = '';
  for (const seg of e.path) s += seg.startsWith('[') ? seg : `.${seg}`;
  return s;
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

// ---- Writer

export const U64_END = 1n << 64n;
export const LOW32 = 0xffffffffn;

export class Writer {
  buf = new Uint8Array(128);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
  }

  /** An unsigned varint below 2^32. */
  varint32(v: number): void {
    this.room(5);
    while (v > 127) {
      this.buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  /** A varint of 64 bits given as its low and high 32 (unsigned). */
  varint64(lo: number, hi: number): void {
    this.room(10);
    const b = this.buf;
    let p = this.pos;
    while (hi) {
      b[p++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      b[p++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    b[p++] = lo;
    this.pos = p;
  }

  tag(no: number, wire: number): void {
    this.varint32(((no << 3) | wire) >>> 0);
  }

  /** Length-prefixed bytes. */
  bytes(v: Uint8Array): void {
    this.varint32(v.length);
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Bytes as they are (an encoded part). */
  raw(v: Uint8Array): void {
    this.room(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** Starts a length-delimited part: one byte is reserved for its length. */
  fork(): number {
    this.room(1);
    return this.pos++;
  }

  /** Writes the length of the part started at `start`, moving the part when it takes more than a byte. */
  ldelim(start: number): void {
    let len = this.pos - start - 1;
    let n = 1;
    for (let v = len; v > 127; v >>>= 7) n++;
    if (n > 1) {
      this.room(n - 1);
      this.buf.copyWithin(start + n, start + 1, this.pos);
      this.pos += n - 1;
    }
    let p = start;
    while (len > 127) {
      this.buf[p++] = (len & 127) | 128;
      len >>>= 7;
    }
    this.buf[p] = len;
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

// ---- Reader

export const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'wire type 6', 'wire type 7'];

export class Reader {
  /** The last varint read: its low and high 32 bits, unsigned. */
  lo = 0;
  hi = 0;

  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  private truncated(start: number): FieldError {
    return new FieldError(`truncated varint at byte ${start}`);
  }

  /** Reads a varint of at most 64 bits into lo and hi. */
  varint(): void {
    const b = this.buf;
    const end = this.end;
    const start = this.pos;
    let p = start;
    let lo = 0;
    let x: number;
    for (let s = 0; s < 28; s += 7) {
      if (p >= end) throw this.truncated(start);
      x = b[p++]!;
      lo |= (x & 127) << s;
      if (x < 128) {
        this.lo = lo >>> 0;
        this.hi = 0;
        this.pos = p;
        return;
      }
    }
    if (p >= end) throw this.truncated(start);
    x = b[p++]!;
    lo |= (x & 127) << 28;
    let hi = (x & 127) >>> 4;
    if (x >= 128) {
      for (let s = 3; ; s += 7) {
        if (p >= end) throw this.truncated(start);
        x = b[p++]!;
        // The tenth byte holds bit 63 only: anything more is past 64 bits (or an eleventh byte).
        if (s === 31 && x > 1) throw new FieldError(`varint over 64 bits at byte ${start}`);
        hi |= (x & 127) << s;
        if (x < 128) break;
      }
    }
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
    this.pos = p;
  }

  u64(): bigint {
    this.varint();
    return this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** A length that must fit in what is left of the message. */
  length(): number {
    const start = this.pos;
    this.varint();
    if (this.hi !== 0 || this.lo > this.end - this.pos) {
      throw new FieldError(`length at byte ${start} runs past the end of the message`);
    }
    return this.lo;
  }

  view(len: number): Uint8Array {
    const v = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, len);
    this.pos += len;
    return v;
  }

  /** Reads a tag; returns the field number and sets lo to the wire type. */
  tag(): number {
    const start = this.pos;
    this.varint();
    const no = this.lo >>> 3;
    if (this.hi !== 0 || no === 0) throw new FieldError(`invalid field number at byte ${start}`);
    this.lo &= 7;
    return no;
  }

  /** Skips the value of an unknown field. */
  skip(wire: number, no: number, depth = 0): void {
    switch (wire) {
      case 0:
        this.varint();
        return;
      case 1:
      case 5: {
        const n = wire === 1 ? 8 : 4;
        if (this.end - this.pos < n) throw new FieldError(`truncated field ${no}`);
        this.pos += n;
        return;
      }
      case 2: {
        const len = this.length();
        this.pos += len;
        return;
      }
      case 3: {
        // A group (deprecated, but legal on the wire): skip to its end.
        if (depth > 32) throw new FieldError('groups nested too deep');
        for (;;) {
          if (this.pos >= this.end) throw new FieldError(`unterminated group ${no}`);
          const n = this.tag();
          const w = this.lo;
          if (w === 4) {
            if (n !== no) throw new FieldError(`group ${no} ended by ${n}`);
            return;
          }
          this.skip(w, n, depth + 1);
        }
      }
      default:
        throw new FieldError(`field ${no} has ${WIRE_NAMES[wire]}`);
    }
  }
}
