// The TinyKv service definition the server registers: the product's codecs, with decoding that
// never fails inside grpc-js. A request that cannot be decoded (or whose wire format breaks the
// schema: wire_check.ts) becomes an Undecodable value the handlers answer themselves: unary calls
// and the BatchCommands stream with INVALID_ARGUMENT naming the field (grpc-js alone would answer
// INTERNAL "Error deserializing request"), raft streams by dropping the one bad frame and keeping
// the stream, snapshot streams by failing the receive.
import type * as grpc from '@grpc/grpc-js';
import { tinyKvService } from '@tskv/rpc';
import { BATCH_COMMANDS_REQUEST, SCHEMAS, wireProblem } from './wire_check.js';

export class Undecodable {
  constructor(
    /** The message type, e.g. RawPutRequest. */
    readonly type: string,
    readonly reason: string,
  ) {}

  get message(): string {
    return `malformed ${this.type}: ${this.reason}`;
  }
}

const WIRE_SCHEMAS: Record<string, Parameters<typeof wireProblem>[1]> = { ...SCHEMAS, BatchCommandsRequest: BATCH_COMMANDS_REQUEST };

/** A deserializer that returns Undecodable instead of throwing. */
export function guardedDeserializer<T>(type: string, decode: (b: Buffer) => T): (b: Buffer) => T | Undecodable {
  const schema = WIRE_SCHEMAS[type];
  return (b: Buffer) => {
    const problem = schema ? wireProblem(b, schema) : null;
    if (problem) return new Undecodable(type, problem);
    try {
      return decode(b);
    } catch (e) {
      return new Undecodable(type, e instanceof Error ? e.message : String(e));
    }
  };
}

const REQUEST_TYPES: Record<keyof typeof tinyKvService, string> = {
  rawGet: 'RawGetRequest',
  rawPut: 'RawPutRequest',
  rawDelete: 'RawDeleteRequest',
  rawScan: 'RawScanRequest',
  rawBatchGet: 'RawBatchGetRequest',
  rawBatchPut: 'RawBatchPutRequest',
  kvGet: 'GetRequest',
  kvScan: 'ScanRequest',
  kvPrewrite: 'PrewriteRequest',
  kvCommit: 'CommitRequest',
  kvCheckTxnStatus: 'CheckTxnStatusRequest',
  kvBatchRollback: 'BatchRollbackRequest',
  kvResolveLock: 'ResolveLockRequest',
  batchCommands: 'BatchCommandsRequest',
  raft: 'RaftMessage',
  batchRaft: 'BatchRaftMessage',
  snapshot: 'SnapshotChunk',
};

/** The TinyKv service definition with guarded request decoding (responses and paths unchanged). */
export function guardService(def: typeof tinyKvService): grpc.ServiceDefinition {
  return Object.fromEntries(
    (Object.keys(def) as (keyof typeof tinyKvService)[]).map((k) => {
      const m = def[k] as grpc.MethodDefinition<unknown, unknown>;
      return [k, { ...m, requestDeserialize: guardedDeserializer(REQUEST_TYPES[k], m.requestDeserialize) }];
    }),
  );
}

/** The raft-message decoding the server's BatchRaft handler applies to each frame (fuzz tests use it directly). */
export const decodeBatchRaftFrame = guardedDeserializer(
  'BatchRaftMessage',
  (tinyKvService.batchRaft as grpc.MethodDefinition<unknown, unknown>).requestDeserialize,
) as (b: Buffer) => import('@tskv/proto').raft_serverpb.BatchRaftMessage | Undecodable;
