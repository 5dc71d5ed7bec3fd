// The command-test harness, after TinyKV's commands_test.go: a TxnExecutor over a MemStorage, a
// timestamp counter at 99 (each request helper takes the next one, the first being 100), `init`
// for raw entries, `assertLens`, and `assert` (exact bytes, or "exists and not rewritten since
// init"). Every command also runs under a validation hook that fails the test if it writes a key
// it did not latch, and leaves no reader, iterator or latch behind.
import assert from 'node:assert/strict';
import {
  type BatchRollbackRequest,
  type CfName,
  type CheckTxnStatusRequest,
  type CommitRequest,
  decodeUserKey,
  encodeKey,
  type GetRequest,
  MemStorage,
  type Mutation,
  type Op,
  type PrewriteRequest,
  type ResolveLockRequest,
  type ScanRequest,
  TxnExecutor,
} from '../src/index.js';

/** Bytes of a list of byte values. */
export const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

/** Big-endian u64 of 8 byte values (TinyKV's binary.BigEndian.Uint64). */
export function be64(bytes: number[]): bigint {
  assert.equal(bytes.length, 8);
  return bytes.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
}

export interface KV {
  cf: CfName;
  /** The user key (not encoded, no timestamp). */
  key: Uint8Array;
  /** Default: the builder's latest timestamp. */
  ts?: bigint;
  /** In assertions, undefined means "exists and has not been written since init". */
  value?: Uint8Array;
}

function latchName(k: Uint8Array): string {
  return Buffer.from(k).toString('hex');
}

export class TestBuilder {
  readonly mem = new MemStorage();
  readonly executor: TxnExecutor;
  prevTs = 99n;
  readonly validationFailures: string[] = [];

  constructor() {
    this.executor = new TxnExecutor(this.mem, {
      validate: (modifies, latched) => {
        const names = new Set(latched.map(latchName));
        for (const m of modifies) {
          // Raw test keys are shorter than 9 bytes, the minimum length of an encoded key.
          const key = m.key.length > 8 && (m.cf === 'default' || m.cf === 'write') ? decodeUserKey(m.key) : m.key;
          if (!names.has(latchName(key))) this.validationFailures.push(`${m.type} ${m.cf} ${latchName(m.key)}: key not latched`);
        }
      },
    });
  }

  /** Puts raw entries (default/write keys encoded with `ts`, or the latest ts; lock keys raw), marked fresh. */
  init(kvs: KV[]): void {
    for (const kv of kvs) {
      const ts = kv.ts ?? this.prevTs;
      const key = kv.cf === 'lock' ? kv.key : encodeKey(kv.key, ts);
      this.mem.set(kv.cf, key, kv.value ?? new Uint8Array(0));
    }
  }

  nextTs(): bigint {
    this.prevTs++;
    return this.prevTs;
  }

  /** The latest timestamp as a byte. */
  ts(): number {
    return Number(this.prevTs & 0xffn);
  }

  assert(kvs: KV[]): void {
    for (const kv of kvs) {
      const ts = kv.ts ?? this.prevTs;
      const key = kv.cf === 'lock' ? kv.key : encodeKey(kv.key, ts);
      if (kv.value === undefined) {
        assert.equal(this.mem.hasChanged(kv.cf, key), false, `${kv.cf} ${latchName(kv.key)}@${ts} changed or missing`);
      } else {
        assert.deepEqual(this.mem.get(kv.cf, key), kv.value, `${kv.cf} ${latchName(kv.key)}@${ts}`);
      }
    }
  }

  assertLen(cf: CfName, size: number): void {
    assert.equal(this.mem.len(cf), size, `${cf} entries`);
  }

  assertLens(def: number, lock: number, write: number): void {
    assert.deepEqual([this.mem.len('default'), this.mem.len('lock'), this.mem.len('write')], [def, lock, write], '(default, lock, write)');
  }

  prewriteRequest(...mutations: Mutation[]): PrewriteRequest {
    return { primaryLock: b(1), startVersion: this.nextTs(), lockTtl: 0n, mutations };
  }

  commitRequest(...keys: Uint8Array[]): CommitRequest {
    const startVersion = this.nextTs();
    return { startVersion, commitVersion: startVersion + 10n, keys };
  }

  rollbackRequest(...keys: Uint8Array[]): BatchRollbackRequest {
    return { startVersion: this.nextTs(), keys };
  }

  checkTxnStatusRequest(key: Uint8Array): CheckTxnStatusRequest {
    this.nextTs();
    return { primaryKey: key, lockTs: be64([0, 0, 5, 0, 0, 0, 0, this.ts()]), currentTs: be64([0, 0, 6, 0, 0, 0, 0, this.ts()]) };
  }

  scanRequest(startKey: Uint8Array, limit: number): ScanRequest {
    return { startKey, limit, version: this.nextTs() };
  }

  /** Checks after every command: hook clean, no reader or latch left behind. */
  #after<T>(resp: T): T {
    assert.deepEqual(this.validationFailures, []);
    assert.equal(this.mem.openReaders, 0, 'a reader was left open');
    assert.equal(this.executor.latches.size, 0, 'a latch was left held');
    return resp;
  }

  async get(req: GetRequest) {
    return this.#after(await this.executor.get(req));
  }
  async scan(req: ScanRequest) {
    return this.#after(await this.executor.scan(req));
  }
  async prewrite(req: PrewriteRequest) {
    return this.#after(await this.executor.prewrite(req));
  }
  async commit(req: CommitRequest) {
    return this.#after(await this.executor.commit(req));
  }
  async rollback(req: BatchRollbackRequest) {
    return this.#after(await this.executor.batchRollback(req));
  }
  async checkTxnStatus(req: CheckTxnStatusRequest) {
    return this.#after(await this.executor.checkTxnStatus(req));
  }
  async resolve(req: ResolveLockRequest) {
    return this.#after(await this.executor.resolveLock(req));
  }
}

export function newBuilder(): TestBuilder {
  return new TestBuilder();
}

export function mutation(key: number, value: Uint8Array | undefined, op: Op): Mutation {
  return value === undefined ? { key: b(key), op } : { key: b(key), value, op };
}

export function resolveRequest(startVersion: bigint, commitVersion: bigint): ResolveLockRequest {
  return { startVersion, commitVersion };
}

/** A write record's bytes: kind then BE64(start ts) from its last byte values. */
export function writeBytes(kind: number, ...startTsBytes: number[]): Uint8Array {
  return b(kind, ...Array(8 - startTsBytes.length).fill(0), ...startTsBytes);
}
