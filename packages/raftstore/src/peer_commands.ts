// The checks a peer runs on a command before it goes to raft, the proposal of admin commands, and
// the answer to a command raft or the checks refused. They read the peer and drive its RawNode;
// what the peer remembers of a proposal (its callback, a started transfer) stays with the peer.
import { raft_cmdpb } from '@tskv/proto';
import { EMPTY_BYTES, ProposalDroppedError } from '@tskv/raft';
import { findPeerById } from '@tskv/util';
import { checkEpoch, checkKeyInRegion, errorResponse, validateRequests } from './cmd.js';
import { applyChanges, changesOf, isJoint, toRaftConfChange } from './conf_change.js';
import { InvalidRequestError, NotLeaderError, StaleCommandError, StoreError, StoreNotMatchError } from './errors.js';
import type { Peer } from './peer.js';

/** What the checks and proposals read of the peer (and its RawNode, which they drive). */
export type CommandPeer = Pick<Peer, 'regionId' | 'peerId' | 'storeId' | 'raw' | 'region' | 'isLeader' | 'leaderPeer'>;

/**
 * An admin command went to raft (`proposed`: the peer answers it when its entry is applied), or
 * was a TransferLeader, done by the leader at once and answered with `response`.
 */
export type AdminProposal = { readonly kind: 'proposed' } | { readonly kind: 'transfer'; readonly response: raft_cmdpb.IRaftCmdResponse };

/** Whether `p` takes a write or read `req`: throws the StoreError to answer it with if not. */
export function checkCommand(p: CommandPeer, req: raft_cmdpb.IRaftCmdRequest): void {
  const h = req.header;
  if (!h) throw new InvalidRequestError('missing header');
  if (h.peer?.storeId && h.peer.storeId !== p.storeId) throw new StoreNotMatchError(h.peer.storeId, p.storeId);
  if (!p.isLeader()) throw new NotLeaderError(p.regionId, p.leaderPeer());
  // A write built on a view read in an earlier term: another leader may have changed what it read.
  if (h.term && h.term !== p.raw.term) throw new StaleCommandError(`command of term ${h.term} refused in term ${p.raw.term}`);
  validateRequests(req);
  checkEpoch(req, p.region);
  for (const r of req.requests ?? []) checkKeyInRegion(r, p.region);
}

/**
 * Admin commands: membership changes go through raft as conf changes (their request rides in
 * the entry's context), TransferLeader is done by the leader at once, CompactLog is an entry.
 * Throws what to answer the command with when it is refused.
 */
export function proposeAdmin(p: CommandPeer, req: raft_cmdpb.IRaftCmdRequest): AdminProposal {
  const admin = req.adminRequest!;
  const h = req.header;
  if (!h) throw new InvalidRequestError('missing header');
  if (h.peer?.storeId && h.peer.storeId !== p.storeId) throw new StoreNotMatchError(h.peer.storeId, p.storeId);
  if (!p.isLeader()) throw new NotLeaderError(p.regionId, p.leaderPeer());
  if ((req.requests ?? []).length > 0) throw new InvalidRequestError('an admin request carries no other requests');
  const T = raft_cmdpb.AdminCmdType;
  switch (admin.cmdType) {
    case T.ChangePeer:
    case T.ChangePeerV2: {
      checkEpoch(req, p.region, { version: false });
      const changes = changesOf(admin);
      if (changes.length === 0) throw new InvalidRequestError('a membership change without changes');
      // One membership change at a time: raft would silently turn a second one into a no-op.
      if (p.raw.pendingConfIndex > p.raw.applied || isJoint(p.region)) {
        throw new StaleCommandError(`region ${p.regionId} has a membership change in progress; retry`);
      }
      applyChanges(p.region, changes); // validates: raft and the region meta must agree
      const data = raft_cmdpb.RaftCmdRequest.encode(req).finish();
      p.raw.proposeConfChange(data, toRaftConfChange(changes, data));
      return { kind: 'proposed' };
    }
    case T.TransferLeader: {
      checkEpoch(req, p.region);
      const to = admin.transferLeader?.peer;
      const target = to?.id ? findPeerById(p.region, to.id) : undefined;
      if (!target) throw new InvalidRequestError(`transfer leader: peer ${to?.id} is not a member of region ${p.regionId}`);
      if (target.id !== p.peerId) p.raw.transferLeader(target.id!);
      return {
        kind: 'transfer',
        response: { header: { currentTerm: p.raw.term }, responses: [], adminResponse: { cmdType: T.TransferLeader, transferLeader: {} } },
      };
    }
    case T.BatchSplit:
      checkEpoch(req, p.region, { confVer: false });
      p.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(req).finish());
      return { kind: 'proposed' };
    case T.CompactLog:
      p.raw.propose(EMPTY_BYTES, raft_cmdpb.RaftCmdRequest.encode(req).finish());
      return { kind: 'proposed' };
    default:
      throw new InvalidRequestError(`unsupported admin command ${String(admin.cmdType)}`);
  }
}

/** The answer to a command refused by the checks or by raft. */
export function proposeErrorResponse(p: Pick<Peer, 'regionId' | 'leaderPeer'>, e: unknown): raft_cmdpb.IRaftCmdResponse {
  if (e instanceof StoreError) return errorResponse(e);
  if (e instanceof ProposalDroppedError) return errorResponse(new NotLeaderError(p.regionId, p.leaderPeer()));
  return errorResponse(new InvalidRequestError(e instanceof Error ? e.message : String(e)));
}
