// A transactional command's view of one region on this store (TxnStorage for @tskv/txn's
// executor): the reader is a region snapshot taken at a read index, clamped to the region's
// ranges; the write is ONE raft command of the region, so a command is all or nothing.
//
// The write carries the leader term of the snapshot it was computed on: the store refuses it
// (StaleCommand) if leadership changed in between, since another leader's writes to the same
// keys would not be in that snapshot (latches are per store).
import type { CfName as EngineCf, EngineSnapshot } from '@tskv/engine';
import type { metapb } from '@tskv/proto';
import { type errorpb, raft_cmdpb } from '@tskv/proto';
import { type RegionSnapshot, regionCfRange } from '@tskv/raftstore';
import type { CfName, ClosableReader, Entry, Modify, TxnStorage } from '@tskv/txn';
import { compareBytes, keyInRegion } from '@tskv/util';

/** What the storage needs of a store (a raftstore Store satisfies it). */
export interface TxnStore {
  snapshotRead(header: raft_cmdpb.IRaftRequestHeader, opts: { forWrite?: boolean }): Promise<RegionSnapshot | raft_cmdpb.IRaftCmdResponse>;
  call(req: raft_cmdpb.IRaftCmdRequest): Promise<raft_cmdpb.IRaftCmdResponse>;
  /** Keys and their bytes a transactional read returned (the region's read traffic). */
  recordRead?(regionId: number, bytes: number, keys: number): void;
}

/** The store answered with an error: a region error goes to the client's region_error. */
export class StoreAnswer extends Error {
  constructor(readonly error: errorpb.IError) {
    super(error.message || 'request failed');
  }
}

/** The engine CF of each CF of the transaction layer. */
const ENGINE_CF: Record<CfName, EngineCf> = { default: 'txn_default', lock: 'txn_lock', write: 'txn_write' };

const EMPTY = new Uint8Array(0);

function isSnapshot(r: RegionSnapshot | raft_cmdpb.IRaftCmdResponse): r is RegionSnapshot {
  return (r as RegionSnapshot).snapshot !== undefined;
}

/** A region snapshot as an MvccReader: scans clamped to the region's part of each CF. */
class RegionReader implements ClosableReader {
  constructor(
    private readonly snap: EngineSnapshot,
    private readonly region: metapb.IRegion,
  ) {}

  get(cf: CfName, key: Uint8Array): Promise<Uint8Array | undefined> {
    // A point read of a snapshot is served from LevelDB's memtable or block cache in
    // microseconds: synchronously it costs far less than a round trip through the thread pool.
    try {
      return Promise.resolve(this.snap.getSync(ENGINE_CF[cf], key));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  scan(cf: CfName, start: Uint8Array, end: Uint8Array = EMPTY): AsyncIterable<Entry> {
    const ecf = ENGINE_CF[cf];
    const r = regionCfRange(ecf, this.region);
    const s = compareBytes(start, r.start) > 0 ? start : r.start;
    let e = end;
    if (r.end.length > 0 && (e.length === 0 || compareBytes(e, r.end) > 0)) e = r.end;
    if (e.length > 0 && compareBytes(s, e) >= 0) return (async function* () {})();
    return this.snap.scan(ecf, s, e);
  }

  close(): Promise<void> {
    return this.snap.close();
  }
}

export class RegionTxnStorage implements TxnStorage {
  /** The leader term of the latest snapshot; the write is proposed in it. */
  private term = 0;

  constructor(
    private readonly store: TxnStore,
    private readonly header: raft_cmdpb.IRaftRequestHeader,
    /** The request's user keys: each must be in the region. */
    private readonly keys: readonly Uint8Array[],
    /** The command writes what it computes from its views (see Store.snapshotRead). */
    private readonly forWrite: boolean,
  ) {}

  async reader(): Promise<ClosableReader> {
    const r = await this.store.snapshotRead(this.header, { forWrite: this.forWrite });
    if (!isSnapshot(r)) throw new StoreAnswer(r.header?.error ?? { message: 'snapshot read failed' });
    const outside = this.keys.find((k) => !keyInRegion(k, r.region));
    if (outside) {
      await r.snapshot.close();
      const { region } = r;
      throw new StoreAnswer({
        message: `key ${Buffer.from(outside).toString('hex')} is not in region ${region.id}`,
        keyNotInRegion: { key: outside, regionId: region.id, startKey: region.startKey, endKey: region.endKey },
      });
    }
    this.term = r.term;
    return new RegionReader(r.snapshot, r.region);
  }

  async write(modifies: readonly Modify[]): Promise<void> {
    const requests: raft_cmdpb.IRequest[] = modifies.map((m) =>
      m.type === 'put'
        ? { cmdType: raft_cmdpb.CmdType.Put, put: { cf: ENGINE_CF[m.cf], key: m.key, value: m.value } }
        : { cmdType: raft_cmdpb.CmdType.Delete, delete: { cf: ENGINE_CF[m.cf], key: m.key } },
    );
    const resp = await this.store.call({ header: { ...this.header, term: this.term }, requests });
    const err = resp.header?.error;
    if (err) throw new StoreAnswer(err);
  }
}
