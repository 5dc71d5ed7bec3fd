// The transactional messages of kvrpcpb described field by field (number, name, kind), as the
// lossless codec walks them.
import { errorpb, kvrpcpb } from '@tskv/proto';

// ---- Message descriptions

export type Kind = 'u64' | 'uint32' | 'enum' | 'bool' | 'bytes' | 'string' | 'message' | 'extern';

/** A message of @tskv/proto's generated code, embedded as its bytes. */
export interface Extern {
  encode(m: object): Uint8Array;
  decode(b: Uint8Array): object;
}

export interface Field {
  no: number;
  name: string;
  kind: Kind;
  repeated: boolean;
  /** Left unset by decoding unless present with a non-default value (messages, KeyError's strings); repeated fields are always set. */
  sparse: boolean;
  message?: Desc;
  extern?: Extern;
}

export interface Desc {
  name: string;
  fields: Field[];
  byNo: (Field | undefined)[];
}

export const WIRE_OF: Record<Kind, number> = { u64: 0, uint32: 0, enum: 0, bool: 0, bytes: 2, string: 2, message: 2, extern: 2 };

function desc(name: string, fields: Field[]): Desc {
  const byNo: (Field | undefined)[] = [];
  for (const f of fields) {
    // No repeated varints here: packed encoding is not needed.
    if (f.repeated && WIRE_OF[f.kind] !== 2) throw new Error(`${name}.${f.name}: repeated ${f.kind} is not supported`);
    byNo[f.no] = f;
  }
  return { name, fields: [...fields].sort((a, b) => a.no - b.no), byNo };
}

const scalar = (no: number, name: string, kind: Kind, repeated = false): Field => ({ no, name, kind, repeated, sparse: false });
const sparseString = (no: number, name: string): Field => ({ no, name, kind: 'string', repeated: false, sparse: true });
const message = (no: number, name: string, m: Desc, repeated = false): Field => ({
  no,
  name,
  kind: 'message',
  repeated,
  sparse: true,
  message: m,
});
const extern = (no: number, name: string, e: Extern): Field => ({ no, name, kind: 'extern', repeated: false, sparse: true, extern: e });

const CONTEXT: Extern = {
  encode: (m) => kvrpcpb.Context.encode(m as kvrpcpb.Context.$Properties).finish(),
  decode: (b) => kvrpcpb.Context.decode(b),
};
const REGION_ERROR: Extern = {
  encode: (m) => errorpb.Error.encode(m as errorpb.Error.$Properties).finish(),
  decode: (b) => errorpb.Error.decode(b),
};
const context = extern(1, 'context', CONTEXT);
const regionError = extern(1, 'regionError', REGION_ERROR);

const LOCK_INFO = desc('LockInfo', [
  scalar(1, 'primaryLock', 'bytes'),
  scalar(2, 'lockVersion', 'u64'),
  scalar(3, 'key', 'bytes'),
  scalar(4, 'lockTtl', 'u64'),
]);
const WRITE_CONFLICT = desc('WriteConflict', [
  scalar(1, 'startTs', 'u64'),
  scalar(2, 'conflictTs', 'u64'),
  scalar(3, 'key', 'bytes'),
  scalar(4, 'primary', 'bytes'),
]);
const KEY_ERROR = desc('KeyError', [
  message(1, 'locked', LOCK_INFO),
  sparseString(2, 'retryable'),
  sparseString(3, 'abort'),
  message(4, 'conflict', WRITE_CONFLICT),
]);
const MUTATION = desc('Mutation', [scalar(1, 'op', 'enum'), scalar(2, 'key', 'bytes'), scalar(3, 'value', 'bytes')]);
const KV_PAIR = desc('TxnKvPair', [message(1, 'error', KEY_ERROR), scalar(2, 'key', 'bytes'), scalar(3, 'value', 'bytes')]);
const keyError = message(2, 'error', KEY_ERROR);

export const DESCS = {
  LockInfo: LOCK_INFO,
  WriteConflict: WRITE_CONFLICT,
  KeyError: KEY_ERROR,
  Mutation: MUTATION,
  TxnKvPair: KV_PAIR,
  GetRequest: desc('GetRequest', [context, scalar(2, 'key', 'bytes'), scalar(3, 'version', 'u64')]),
  GetResponse: desc('GetResponse', [regionError, keyError, scalar(3, 'value', 'bytes'), scalar(4, 'notFound', 'bool')]),
  ScanRequest: desc('ScanRequest', [context, scalar(2, 'startKey', 'bytes'), scalar(3, 'limit', 'uint32'), scalar(4, 'version', 'u64')]),
  ScanResponse: desc('ScanResponse', [regionError, message(2, 'pairs', KV_PAIR, true), message(3, 'error', KEY_ERROR)]),
  PrewriteRequest: desc('PrewriteRequest', [
    context,
    message(2, 'mutations', MUTATION, true),
    scalar(3, 'primaryLock', 'bytes'),
    scalar(4, 'startVersion', 'u64'),
    scalar(5, 'lockTtl', 'u64'),
  ]),
  PrewriteResponse: desc('PrewriteResponse', [regionError, message(2, 'errors', KEY_ERROR, true)]),
  CommitRequest: desc('CommitRequest', [
    context,
    scalar(2, 'startVersion', 'u64'),
    scalar(3, 'keys', 'bytes', true),
    scalar(4, 'commitVersion', 'u64'),
  ]),
  CommitResponse: desc('CommitResponse', [regionError, keyError]),
  BatchRollbackRequest: desc('BatchRollbackRequest', [context, scalar(2, 'startVersion', 'u64'), scalar(3, 'keys', 'bytes', true)]),
  BatchRollbackResponse: desc('BatchRollbackResponse', [regionError, keyError]),
  CheckTxnStatusRequest: desc('CheckTxnStatusRequest', [
    context,
    scalar(2, 'primaryKey', 'bytes'),
    scalar(3, 'lockTs', 'u64'),
    scalar(4, 'currentTs', 'u64'),
  ]),
  CheckTxnStatusResponse: desc('CheckTxnStatusResponse', [
    regionError,
    scalar(2, 'lockTtl', 'u64'),
    scalar(3, 'commitVersion', 'u64'),
    scalar(4, 'action', 'enum'),
    message(5, 'error', KEY_ERROR),
  ]),
  ResolveLockRequest: desc('ResolveLockRequest', [context, scalar(2, 'startVersion', 'u64'), scalar(3, 'commitVersion', 'u64')]),
  ResolveLockResponse: desc('ResolveLockResponse', [regionError, keyError]),
};
