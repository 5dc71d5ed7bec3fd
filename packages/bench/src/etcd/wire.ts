// Just enough of the protobuf wire format for the etcd codec: varints, length-delimited fields,
// and a reader that skips what it does not know.

/** Bytes of a varint of a non-negative integer below 2^53. */
export function varintSize(n: number): number {
  let s = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    s++;
  }
  return s;
}

/** Size of a length-delimited field (tag + length + payload) with a payload of len bytes; tags below 16. */
export function ldSize(len: number): number {
  return 1 + varintSize(len) + len;
}

/** Writes into a buffer of a size computed beforehand (the encoders know their exact sizes). */
export class Writer {
  readonly buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  varint(n: number): this {
    while (n >= 128) {
      this.buf[this.pos++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
    return this;
  }

  /** A tag of a field number below 16. */
  tag(field: number, wireType: number): this {
    this.buf[this.pos++] = (field << 3) | wireType;
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** The header of a nested message of len bytes (its fields follow). */
  message(field: number, len: number): this {
    return this.tag(field, 2).varint(len);
  }

  uint(field: number, n: number): this {
    return this.tag(field, 0).varint(n);
  }

  bool(field: number, b: boolean): this {
    return this.tag(field, 0).varint(b ? 1 : 0);
  }

  finish(): Buffer {
    if (this.pos !== this.buf.length) throw new Error(`encoder size mismatch: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf as Buffer;
  }
}

export class Reader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number (exact below 2^53; int64 fields here are revisions, counts and sizes). */
  varint(): number {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      n += (b & 127) * mul;
      if (b < 128) return n;
      mul *= 128;
    }
    throw new Error('varint too long');
  }

  /** A varint as a bigint (uint64 ids: cluster, member, leader). */
  varint64(): bigint {
    let n = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      n |= BigInt(b & 127) << shift;
      if (b < 128) return BigInt.asUintN(64, n);
      shift += 7n;
    }
    throw new Error('varint too long');
  }

  /** The next tag: [field number, wire type]. */
  tag(): [number, number] {
    const t = this.varint();
    return [Math.floor(t / 8), t % 8];
  }

  /** The bounds of a length-delimited payload, skipping it. */
  delimited(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    const end = start + len;
    if (end > this.end) throw new Error('truncated field');
    this.pos = end;
    return [start, end];
  }

  bytes(): Uint8Array {
    const [s, e] = this.delimited();
    return this.buf.subarray(s, e);
  }

  string(): string {
    const [s, e] = this.delimited();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + s, e - s).toString('utf8');
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.delimited();
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
  }
}
