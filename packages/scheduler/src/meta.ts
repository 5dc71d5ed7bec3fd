// Small helpers over metapb values shared by the index, the state and the schedulers: peer
// roles (as the raftstore reads them), copies, key range bounds, validation (the generic key,
// epoch and peer helpers are @tskv/util's).
import { metapb } from '@tskv/proto';
import { compareBytes } from '@tskv/util';

const Role = metapb.PeerRole;
const EMPTY = new Uint8Array(0);

/** A peer's role; `role` wins, `is_learner` is the older spelling of the same thing. */
export function roleOf(p: metapb.IPeer): metapb.PeerRole {
  if (p.role) return p.role;
  return p.isLearner ? Role.Learner : Role.Voter;
}

export function isVoter(p: metapb.IPeer): boolean {
  return roleOf(p) === Role.Voter;
}

export function isLearner(p: metapb.IPeer): boolean {
  return roleOf(p) === Role.Learner;
}

/** Whether the region is in a joint configuration (a ChangePeerV2 under way). */
export function isJoint(region: metapb.IRegion): boolean {
  return (region.peers ?? []).some((p) => roleOf(p) === Role.IncomingVoter || roleOf(p) === Role.DemotingVoter);
}

export function learnerPeer(id: number, storeId: number): metapb.IPeer {
  return { id, storeId, role: Role.Learner, isLearner: true };
}

export function voterPeer(id: number, storeId: number): metapb.IPeer {
  return { id, storeId, role: Role.Voter, isLearner: false };
}

/** A deep copy through the codec (normalizes optional fields to their defaults too). */
export function cloneRegion(r: metapb.IRegion): metapb.Region {
  return metapb.Region.decode(metapb.Region.encode(r).finish());
}

export function clonePeer(p: metapb.IPeer): metapb.IPeer {
  return { id: Number(p.id ?? 0), storeId: Number(p.storeId ?? 0), role: roleOf(p), isLearner: roleOf(p) === Role.Learner };
}

export function startKey(r: metapb.IRegion): Uint8Array {
  return r.startKey ?? EMPTY;
}

/** The end key; empty means unbounded. */
export function endKey(r: metapb.IRegion): Uint8Array {
  return r.endKey ?? EMPTY;
}

/** Whether the region is well formed enough to record: an id, and peers with ids and stores. */
export function regionProblem(r: metapb.IRegion | null | undefined): string | null {
  if (!r) return 'missing region';
  if (!r.id) return 'region without an id';
  const e = endKey(r);
  if (e.length > 0 && compareBytes(startKey(r), e) >= 0) return `region ${r.id} has an empty or inverted key range`;
  const peers = r.peers ?? [];
  if (peers.length === 0) return `region ${r.id} has no peers`;
  const stores = new Set<number>();
  for (const p of peers) {
    if (!p.id || !p.storeId) return `region ${r.id} has a peer without an id or a store`;
    if (stores.has(Number(p.storeId))) return `region ${r.id} has two peers on store ${p.storeId}`;
    stores.add(Number(p.storeId));
  }
  return null;
}

export function fmtKey(k: Uint8Array): string {
  return Buffer.from(k).toString('hex');
}

/** A key for people: quoted when it is printable ASCII, else 0x-hex. */
export function showKey(k: Uint8Array): string {
  const printable = k.length > 0 && k.every((b) => b >= 0x20 && b < 0x7f);
  return printable ? JSON.stringify(Buffer.from(k).toString('latin1')) : `0x${fmtKey(k)}`;
}
