import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateRole } from '../src/state_role.js';
import { hup, Network, propose } from './network.js';

test('three nodes elect a leader and commit a proposal on all of them', () => {
  const nt = new Network([undefined, undefined, undefined]);
  nt.send(hup(1));
  assert.equal(nt.raft(1).state, StateRole.Leader);
  assert.equal(nt.raft(2).state, StateRole.Follower);
  nt.send(propose(1, 1));
  for (const id of [1, 2, 3]) assert.equal(nt.raft(id).raftLog.committed, 2, `node ${id}`);
});
