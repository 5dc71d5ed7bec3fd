// Fuzz inputs: valid encodings of every TinyKv request type (the seeds of the mutations), random
// bytes, and mutations of valid encodings that keep most of the structure (so they reach the
// decoder's and the handlers' deeper branches rather than failing on the first byte).
import { eraftpb, kvrpcpb, raft_serverpb } from '@tskv/proto';
import type { Prng } from '@tskv/util';
import type { MethodName } from '../raw_grpc.js';

const enc = (s: string): Uint8Array => Buffer.from(s);
const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** Fuzz keys live under their own prefix: acknowledged data elsewhere must stay untouched. */
export const FUZZ_PREFIX = 'fz/';

export interface Region {
  regionId: number;
  regionEpoch: { confVer: number; version: number };
  peer: { id: number; storeId: number };
}

/** One valid request of `method` (random keys and values under FUZZ_PREFIX). */
export function validRequest(method: MethodName, r: Region, rng: Prng): Buffer {
  const context = { regionId: r.regionId, regionEpoch: r.regionEpoch, peer: r.peer };
  const key = (): Uint8Array => enc(`${FUZZ_PREFIX}${rng.int(1000)}`);
  const value = (): Uint8Array => rng.bytes(rng.int(40));
  const cf = rng.pick(['', 'default', 'lock', 'write']);
  // Raft traffic for regions and peers that do not exist here (mutations rarely forge a working
  // message for the live region: that would be a byzantine peer, which raft does not survive).
  const rid = 1000 + rng.int(1000);
  const raftMsg = (): raft_serverpb.IRaftMessage => ({
    regionId: rid,
    fromPeer: { id: 5000 + rng.int(100), storeId: 50 + rng.int(10) },
    toPeer: { id: 6000 + rng.int(100), storeId: r.peer.storeId },
    regionEpoch: { confVer: 1 + rng.int(5), version: 1 + rng.int(5) },
    startKey: enc(`${FUZZ_PREFIX}a`),
    endKey: enc(`${FUZZ_PREFIX}b`),
    message: {
      msgType: rng.pick([
        eraftpb.MessageType.MsgHeartbeat,
        eraftpb.MessageType.MsgAppend,
        eraftpb.MessageType.MsgRequestVote,
        eraftpb.MessageType.MsgAppendResponse,
      ]),
      to: 6000,
      from: 5000,
      term: rng.int(10),
      logTerm: rng.int(10),
      index: rng.int(20),
      commit: rng.int(20),
      entries: rng.int(2) ? [{ term: 1, index: 6, data: rng.bytes(rng.int(30)) }] : [],
    },
  });
  switch (method) {
    case 'rawGet':
      return buf(kvrpcpb.RawGetRequest.encode({ context, key: key(), cf }).finish());
    case 'rawPut':
      return buf(kvrpcpb.RawPutRequest.encode({ context, key: key(), value: value(), cf }).finish());
    case 'rawDelete':
      return buf(kvrpcpb.RawDeleteRequest.encode({ context, key: key(), cf }).finish());
    case 'rawScan':
      return buf(kvrpcpb.RawScanRequest.encode({ context, startKey: key(), limit: rng.int(5), cf }).finish());
    case 'rawBatchGet':
      return buf(kvrpcpb.RawBatchGetRequest.encode({ context, keys: [key(), key()], cf }).finish());
    case 'rawBatchPut':
      return buf(
        kvrpcpb.RawBatchPutRequest.encode({
          context,
          pairs: [
            { key: key(), value: value() },
            { key: key(), value: value() },
          ],
          cf,
        }).finish(),
      );
    case 'kvGet':
    case 'kvScan':
    case 'kvPrewrite':
    case 'kvCommit':
    case 'kvCheckTxnStatus':
    case 'kvBatchRollback':
    case 'kvResolveLock':
      // The transactional API is not served yet: nothing to fuzz it with.
      throw new Error(`no fuzz inputs for ${method}`);
    case 'batchCommands':
      return buf(
        kvrpcpb.BatchCommandsRequest.encode({
          requestIds: [rng.int(1000), rng.int(1000)],
          requests: [{ rawPut: { context, key: key(), value: value() } }, { rawGet: { context, key: key() } }],
        }).finish(),
      );
    case 'raft':
      return buf(raft_serverpb.RaftMessage.encode(raftMsg()).finish());
    case 'batchRaft':
      return buf(raft_serverpb.BatchRaftMessage.encode({ msgs: [raftMsg(), raftMsg()] }).finish());
    case 'snapshot':
      return rng.int(2)
        ? buf(
            raft_serverpb.SnapshotChunk.encode({
              message: {
                ...raftMsg(),
                message: { msgType: eraftpb.MessageType.MsgSnapshot, to: 6000, from: 5000, snapshot: { data: rng.bytes(20) } },
              },
            }).finish(),
          )
        : buf(raft_serverpb.SnapshotChunk.encode({ data: rng.bytes(rng.int(64)) }).finish());
  }
}

/** A structure-aware mutation of `b`: flips, overwrites, inserts, deletes, truncates, varint and length tampering. */
export function mutate(b: Buffer, rng: Prng): Buffer {
  let out = Buffer.from(b);
  const rounds = 1 + rng.int(3);
  for (let i = 0; i < rounds; i++) {
    const at = out.length ? rng.int(out.length) : 0;
    switch (rng.int(8)) {
      case 0: // flip a bit
        if (out.length) out[at] = out[at]! ^ (1 << rng.int(8));
        break;
      case 1: // an interesting byte
        if (out.length) out[at] = rng.pick([0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12, 0x08, 0x0b, 0x0c]);
        break;
      case 2: // insert random bytes
        out = Buffer.concat([out.subarray(0, at), rng.bytes(1 + rng.int(4)), out.subarray(at)]);
        break;
      case 3: // delete a run
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + rng.int(4)))]);
        break;
      case 4: // truncate
        out = out.subarray(0, at);
        break;
      case 5: // duplicate a slice (repeated fields, overlapping lengths)
        out = Buffer.concat([out, out.subarray(at, Math.min(out.length, at + 1 + rng.int(16)))]);
        break;
      case 6: // a huge length / overlong varint
        out = Buffer.concat([out.subarray(0, at), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]), out.subarray(at)]);
        break;
      default: // change a wire type
        if (out.length) out[at] = (out[at]! & ~7) | rng.int(8);
    }
  }
  return out;
}

/** One fuzz input for `method`: a mutated valid encoding mostly, random bytes or a valid one sometimes. */
export function fuzzInput(method: MethodName, r: Region, rng: Prng): Buffer {
  const roll = rng.int(10);
  if (roll === 0) return rng.bytes(rng.int(64));
  if (roll === 1) return validRequest(method, r, rng);
  return mutate(validRequest(method, r, rng), rng);
}
