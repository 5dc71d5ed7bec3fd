// Membership changes of a region: how a ChangePeer / ChangePeerV2 turns into a raft conf change,
// and how an applied one changes the region's peers and epoch (TiKV's rules).
//   simple change (one peer): AddNode adds a voter or promotes a learner, AddLearnerNode adds a
//     learner, RemoveNode removes any peer;
//   joint change (several peers, or explicitly): AddNode makes an IncomingVoter, AddLearnerNode
//     on a voter makes a DemotingVoter (on a new peer, a Learner), RemoveNode only removes
//     learners (demote a voter first); leaving the joint state (an empty change, which raft
//     proposes by itself: transition Auto) turns IncomingVoter into Voter and DemotingVoter into
//     Learner. A joint change must make a voter incoming or demoting (raft goes joint for it
//     either way), and nothing but leaving is accepted while joint.
// conf_ver grows by one per changed peer (and by one for leaving a joint state).
import { eraftpb, metapb, raft_cmdpb } from '@tskv/proto';
import { type ConfChangeSingle, ConfChangeTransition, ConfChangeType, type ConfChangeV2 } from '@tskv/raft';
import { epochOf } from '@tskv/util';
import { InvalidRequestError } from './errors.js';

const Role = metapb.PeerRole;

export function roleOf(p: metapb.IPeer): metapb.PeerRole {
  if (p.role) return p.role;
  return p.isLearner ? Role.Learner : Role.Voter;
}

export function withRole(p: metapb.IPeer, role: metapb.PeerRole): metapb.IPeer {
  return { id: p.id, storeId: p.storeId, role, isLearner: role === Role.Learner };
}

export function isJoint(region: metapb.IRegion): boolean {
  return (region.peers ?? []).some((p) => roleOf(p) === Role.IncomingVoter || roleOf(p) === Role.DemotingVoter);
}

/** The changes a ChangePeer or ChangePeerV2 request asks for. */
export function changesOf(admin: raft_cmdpb.IAdminRequest): raft_cmdpb.IChangePeerRequest[] {
  if (admin.cmdType === raft_cmdpb.AdminCmdType.ChangePeer) return admin.changePeer ? [admin.changePeer] : [];
  return admin.changePeerV2?.changes ?? [];
}

/** The raft conf change of a request (V2 always; several changes use a joint configuration). */
export function toRaftConfChange(changes: raft_cmdpb.IChangePeerRequest[], context: Uint8Array): ConfChangeV2 {
  const singles: ConfChangeSingle[] = changes.map((c) => ({ changeType: c.changeType ?? ConfChangeType.AddNode, nodeId: c.peer?.id ?? 0 }));
  return { transition: ConfChangeTransition.Auto, changes: singles, context };
}

/**
 * The region after a conf change (throws InvalidRequestError when the change does not fit the
 * region: proposals are checked with it too, so both raft and the region meta refuse it alike).
 * `changes` empty means leaving a joint configuration.
 */
export function applyChanges(region: metapb.IRegion, changes: raft_cmdpb.IChangePeerRequest[]): metapb.IRegion {
  let peers = (region.peers ?? []).map((p) => ({ ...p }));
  const epoch = epochOf(region);
  if (changes.length === 0) {
    if (!isJoint(region)) throw new InvalidRequestError(`region ${region.id} is not in a joint configuration`);
    peers = peers.map((p) =>
      roleOf(p) === Role.IncomingVoter ? withRole(p, Role.Voter) : roleOf(p) === Role.DemotingVoter ? withRole(p, Role.Learner) : p,
    );
    epoch.confVer += 1;
    return { ...region, peers, regionEpoch: epoch };
  }
  // Raft refuses any change but leaving while joint, simple changes included.
  if (isJoint(region)) throw new InvalidRequestError(`region ${region.id} is already in a joint configuration`);
  const joint = changes.length > 1;
  const seen = new Set<number>();
  for (const c of changes) {
    const p = c.peer;
    if (!p?.id || !p.storeId) throw new InvalidRequestError('a peer change needs a peer with an id and a store id');
    if (seen.has(p.id)) throw new InvalidRequestError(`peer ${p.id} changed twice in one request`);
    seen.add(p.id);
    const i = peers.findIndex((x) => x.id === p.id);
    const existing = i >= 0 ? peers[i]! : undefined;
    const sameStore = peers.find((x) => x.storeId === p.storeId && x.id !== p.id);
    // An unset type is AddNode, the proto3 default, as toRaftConfChange and a decoded request read it.
    switch (c.changeType ?? eraftpb.ConfChangeType.AddNode) {
      case eraftpb.ConfChangeType.AddNode: {
        if (sameStore) throw new InvalidRequestError(`store ${p.storeId} already has peer ${sameStore.id} of region ${region.id}`);
        const role = joint ? Role.IncomingVoter : Role.Voter;
        if (existing) {
          if (roleOf(existing) !== Role.Learner) throw new InvalidRequestError(`peer ${p.id} is already a voter of region ${region.id}`);
          peers[i] = withRole(existing, role);
        } else peers.push(withRole(p, role));
        break;
      }
      case eraftpb.ConfChangeType.AddLearnerNode: {
        if (sameStore) throw new InvalidRequestError(`store ${p.storeId} already has peer ${sameStore.id} of region ${region.id}`);
        if (existing) {
          if (roleOf(existing) === Role.Learner) throw new InvalidRequestError(`peer ${p.id} is already a learner of region ${region.id}`);
          if (!joint) throw new InvalidRequestError(`demoting voter ${p.id} needs a joint change (ChangePeerV2)`);
          peers[i] = withRole(existing, Role.DemotingVoter);
        } else peers.push(withRole(p, Role.Learner));
        break;
      }
      case eraftpb.ConfChangeType.RemoveNode: {
        if (!existing) throw new InvalidRequestError(`peer ${p.id} is not a member of region ${region.id}`);
        if (joint && roleOf(existing) !== Role.Learner)
          throw new InvalidRequestError(`voter ${p.id} cannot be removed in a joint change: demote it first`);
        peers.splice(i, 1);
        break;
      }
      default:
        throw new InvalidRequestError(`unknown conf change type ${String(c.changeType)}`);
    }
    epoch.confVer += 1;
  }
  if (!peers.some((p) => roleOf(p) === Role.Voter || roleOf(p) === Role.IncomingVoter)) {
    throw new InvalidRequestError(`the change would leave region ${region.id} without voters`);
  }
  // Raft enters a joint configuration for any change of several peers; only incoming and
  // demoting voters show it in the region, so a joint change that touches learners alone would
  // leave raft joint under a region that is not, and the leave would be refused.
  if (joint && !isJoint({ peers })) {
    throw new InvalidRequestError(`a joint change of region ${region.id} must change a voter: change learners one at a time`);
  }
  return { ...region, peers, regionEpoch: epoch };
}
