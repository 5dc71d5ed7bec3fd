// Validation and effect of membership changes on a region (conf_change.ts): every refusal is an
// InvalidRequestError naming the problem, and an accepted change yields the region raft will have
// (peers, roles, conf_ver), leaving the input region untouched.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb, metapb, raft_cmdpb } from '@tskv/proto';
import { ConfChangeTransition, ConfChangeType, MemoryStorage, RawNode } from '@tskv/raft';
import { findPeerById } from '@tskv/util';
import { applyChanges, changesOf, isJoint, roleOf, toRaftConfChange, withRole } from '../src/conf_change.js';
import { InvalidRequestError } from '../src/errors.js';

const Role = metapb.PeerRole;
const { AddNode, RemoveNode, AddLearnerNode } = eraftpb.ConfChangeType;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

type Change = raft_cmdpb.IChangePeerRequest;
const add = (id: number, storeId = id): Change => ({ changeType: AddNode, peer: { id, storeId } });
const addLearner = (id: number, storeId = id): Change => ({ changeType: AddLearnerNode, peer: { id, storeId } });
const remove = (id: number, storeId = id): Change => ({ changeType: RemoveNode, peer: { id, storeId } });

const peer = (id: number, role: metapb.PeerRole = Role.Voter): metapb.IPeer => ({
  id,
  storeId: id,
  role,
  isLearner: role === Role.Learner,
});

/** Region 1 [b, y), voters 1, 2, 3 and learner 4, each peer on the store of its id. */
function region(peers: metapb.IPeer[] = [peer(1), peer(2), peer(3), peer(4, Role.Learner)]): metapb.IRegion {
  return { id: 1, startKey: enc('b'), endKey: enc('y'), regionEpoch: { confVer: 5, version: 3 }, peers };
}

/** Peers as "id@store:Role", sorted by id. */
function describe(r: metapb.IRegion): string[] {
  return [...(r.peers ?? [])].sort((a, b) => a.id! - b.id!).map((p) => `${p.id}@${p.storeId}:${Role[roleOf(p)]}`);
}

function refused(r: metapb.IRegion, changes: Change[], message: RegExp): void {
  const before = structuredClone(r);
  assert.throws(
    () => applyChanges(r, changes),
    (err: unknown) => {
      assert.ok(err instanceof InvalidRequestError, `expected InvalidRequestError, got ${String(err)}`);
      assert.match(err.message, message);
      assert.match(err.toPb().message ?? '', /^invalid request: /);
      return true;
    },
  );
  assert.deepEqual(r, before, 'the region is not modified by a refused change');
}

function accepted(r: metapb.IRegion, changes: Change[]): metapb.IRegion {
  const before = structuredClone(r);
  const out = applyChanges(r, changes);
  assert.deepEqual(r, before, 'the input region is not modified');
  assert.equal(out.id, r.id);
  assert.deepEqual(out.startKey, r.startKey);
  assert.deepEqual(out.endKey, r.endKey);
  assert.equal(out.regionEpoch?.version, r.regionEpoch?.version, 'a membership change keeps the version');
  return out;
}

// ---- refusals ----

test('leaving a joint configuration that the region is not in is refused', () => {
  refused(region(), [], /^region 1 is not in a joint configuration$/);
});

test('any change to a region already in a joint configuration is refused (raft refuses both kinds too)', () => {
  const joint = region([peer(1), peer(2), peer(3, Role.DemotingVoter), peer(5, Role.IncomingVoter)]);
  refused(joint, [add(6), remove(4)], /^region 1 is already in a joint configuration$/);
  refused(joint, [addLearner(6)], /^region 1 is already in a joint configuration$/);
  refused(joint, [remove(2)], /^region 1 is already in a joint configuration$/);
});

test('a change without a peer, a peer id or a store id is refused', () => {
  const msg = /^a peer change needs a peer with an id and a store id$/;
  refused(region(), [{ changeType: AddNode }], msg);
  refused(region(), [{ changeType: AddNode, peer: { storeId: 7 } }], msg);
  refused(region(), [{ changeType: AddNode, peer: { id: 7 } }], msg);
  refused(region(), [{ changeType: RemoveNode, peer: { id: 0, storeId: 3 } }], msg);
  // Also when it is not the first change of a joint request.
  refused(region(), [add(7), { changeType: AddLearnerNode, peer: { id: 8 } }], msg);
});

test('a peer changed twice in one request is refused', () => {
  refused(region(), [addLearner(7), add(7)], /^peer 7 changed twice in one request$/);
  refused(region(), [remove(4), addLearner(4)], /^peer 4 changed twice in one request$/);
});

test('adding a voter on a store that already has a peer of the region is refused', () => {
  refused(region(), [add(7, 2)], /^store 2 already has peer 2 of region 1$/);
  refused(region(), [add(7, 4)], /^store 4 already has peer 4 of region 1$/);
  refused(region(), [add(8), add(7, 8)], /^store 8 already has peer 8 of region 1$/);
});

test('adding a peer that is already a voter is refused', () => {
  refused(region(), [add(2)], /^peer 2 is already a voter of region 1$/);
});

test('adding a learner on a store that already has a peer of the region is refused', () => {
  refused(region(), [addLearner(7, 3)], /^store 3 already has peer 3 of region 1$/);
});

test('adding a learner that is already a learner is refused', () => {
  refused(region(), [addLearner(4)], /^peer 4 is already a learner of region 1$/);
});

test('demoting a voter without a joint change is refused', () => {
  refused(region(), [addLearner(3)], /^demoting voter 3 needs a joint change \(ChangePeerV2\)$/);
});

test('removing a peer that is not a member is refused', () => {
  refused(region(), [remove(9)], /^peer 9 is not a member of region 1$/);
  refused(region(), [add(7), remove(9)], /^peer 9 is not a member of region 1$/);
});

test('removing a voter in a joint change is refused: it must be demoted first', () => {
  refused(region(), [add(7), remove(3)], /^voter 3 cannot be removed in a joint change: demote it first$/);
});

test('an unknown change type is refused', () => {
  refused(region(), [{ changeType: 7 as eraftpb.ConfChangeType, peer: { id: 7, storeId: 7 } }], /^unknown conf change type 7$/);
});

test('a change that leaves the region without voters is refused', () => {
  const single = region([peer(1), peer(4, Role.Learner)]);
  refused(single, [remove(1)], /^the change would leave region 1 without voters$/);
  // Joint: the only voter demoted, nothing incoming.
  refused(single, [addLearner(1), addLearner(5)], /^the change would leave region 1 without voters$/);
});

test('a joint change that changes only learners is refused: raft would enter a joint configuration the region cannot show', () => {
  const changes = [addLearner(5), remove(4)];
  // What raft would do with this request: enter a joint configuration (outgoing voters = incoming
  // voters) that it leaves only by a later, empty conf change.
  const rn = new RawNode(
    { id: 1, electionTick: 10, heartbeatTick: 1 },
    MemoryStorage.newWithConfState({ voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [], autoLeave: false }),
  );
  const cs = rn.applyConfChange(toRaftConfChange(changes, enc('ctx')));
  assert.deepEqual([...cs.votersOutgoing].sort(), [1, 2, 3], 'raft is joint after the change');
  // No IncomingVoter or DemotingVoter would mark the region joint, so the leave would be refused
  // by the region while raft stays joint.
  refused(region(), changes, /^a joint change of region 1 must change a voter/);
  refused(region(), [addLearner(5), addLearner(6)], /^a joint change of region 1 must change a voter/);
});

// ---- accepted changes ----

test('simple changes: add a voter, add a learner, promote a learner, remove a voter or a learner', () => {
  const r = region();
  let out = accepted(r, [add(7)]);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '3@3:Voter', '4@4:Learner', '7@7:Voter']);
  assert.deepEqual(out.regionEpoch, { confVer: 6, version: 3 });

  out = accepted(r, [addLearner(7)]);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '3@3:Voter', '4@4:Learner', '7@7:Learner']);
  assert.equal(findPeerById(out, 7)!.isLearner, true);
  assert.deepEqual(out.regionEpoch, { confVer: 6, version: 3 });

  out = accepted(r, [add(4)]);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '3@3:Voter', '4@4:Voter']);
  assert.equal(findPeerById(out, 4)!.isLearner, false);
  assert.deepEqual(out.regionEpoch, { confVer: 6, version: 3 });

  out = accepted(r, [remove(3)]);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '4@4:Learner']);
  assert.deepEqual(out.regionEpoch, { confVer: 6, version: 3 });

  out = accepted(r, [remove(4)]);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '3@3:Voter']);
  assert.deepEqual(out.regionEpoch, { confVer: 6, version: 3 });
});

test('a change without a type is AddNode (the proto3 default), as raft reads it', () => {
  const c: Change = { peer: { id: 7, storeId: 7 } };
  assert.equal(toRaftConfChange([c], enc('x')).changes[0]!.changeType, ConfChangeType.AddNode);
  assert.deepEqual(describe(accepted(region(), [c])), ['1@1:Voter', '2@2:Voter', '3@3:Voter', '4@4:Learner', '7@7:Voter']);
});

test('entering a joint configuration: incoming and demoting voters, one conf_ver per changed peer', () => {
  const r = region();
  // Replace voter 3 by a new voter 7, drop learner 4, add learner 8, promote nobody else.
  const out = accepted(r, [add(7), addLearner(3), remove(4), addLearner(8)]);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '3@3:DemotingVoter', '7@7:IncomingVoter', '8@8:Learner']);
  assert.deepEqual(out.regionEpoch, { confVer: 9, version: 3 });
  assert.ok(isJoint(out));
  assert.ok(!isJoint(r));
  // A learner promoted in a joint change comes in as an incoming voter.
  const promoted = accepted(r, [add(4), addLearner(3)]);
  assert.deepEqual(describe(promoted), ['1@1:Voter', '2@2:Voter', '3@3:DemotingVoter', '4@4:IncomingVoter']);
  assert.equal(findPeerById(promoted, 4)!.isLearner, false);
  // A peer on the store of a learner removed earlier in the same request.
  const moved = accepted(r, [remove(4), add(9, 4)]);
  assert.deepEqual(describe(moved), ['1@1:Voter', '2@2:Voter', '3@3:Voter', '9@4:IncomingVoter']);
});

test('leaving a joint configuration: incoming voters become voters, demoting voters learners, conf_ver + 1', () => {
  const joint = accepted(region(), [add(7), addLearner(3)]);
  const out = accepted(joint, []);
  assert.deepEqual(describe(out), ['1@1:Voter', '2@2:Voter', '3@3:Learner', '4@4:Learner', '7@7:Voter']);
  assert.equal(findPeerById(out, 3)!.isLearner, true);
  assert.equal(findPeerById(out, 7)!.isLearner, false);
  assert.deepEqual(out.regionEpoch, { confVer: 8, version: 3 });
  assert.ok(!isJoint(out));
});

test('a region without an epoch starts from conf_ver 0', () => {
  const out = applyChanges({ id: 2, peers: [peer(1)] }, [add(2)]);
  assert.deepEqual(out.regionEpoch, { confVer: 1, version: 0 });
});

// ---- helpers ----

test('roleOf reads role, or isLearner for peers without one; withRole keeps both in step', () => {
  assert.equal(roleOf({ id: 1 }), Role.Voter);
  assert.equal(roleOf({ id: 1, isLearner: true }), Role.Learner);
  assert.equal(roleOf({ id: 1, role: Role.DemotingVoter }), Role.DemotingVoter);
  assert.deepEqual(withRole({ id: 3, storeId: 4, role: Role.Voter }, Role.Learner), {
    id: 3,
    storeId: 4,
    role: Role.Learner,
    isLearner: true,
  });
  assert.deepEqual(withRole({ id: 3, storeId: 4, isLearner: true }, Role.IncomingVoter), {
    id: 3,
    storeId: 4,
    role: Role.IncomingVoter,
    isLearner: false,
  });
});

test('changesOf reads ChangePeer and ChangePeerV2; toRaftConfChange is one V2 change with transition Auto', () => {
  const T = raft_cmdpb.AdminCmdType;
  assert.deepEqual(changesOf({ cmdType: T.ChangePeer, changePeer: add(7) }), [add(7)]);
  assert.deepEqual(changesOf({ cmdType: T.ChangePeer }), []);
  assert.deepEqual(changesOf({ cmdType: T.ChangePeerV2, changePeerV2: { changes: [add(7), remove(4)] } }), [add(7), remove(4)]);
  assert.deepEqual(changesOf({ cmdType: T.ChangePeerV2 }), []);
  const ctx = enc('ctx');
  assert.deepEqual(toRaftConfChange([add(7), addLearner(3), remove(4)], ctx), {
    transition: ConfChangeTransition.Auto,
    changes: [
      { changeType: ConfChangeType.AddNode, nodeId: 7 },
      { changeType: ConfChangeType.AddLearnerNode, nodeId: 3 },
      { changeType: ConfChangeType.RemoveNode, nodeId: 4 },
    ],
    context: ctx,
  });
});
