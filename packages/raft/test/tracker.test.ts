import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Changer } from '../src/confchange/changer.js';
import { restore } from '../src/confchange/restore.js';
import { VoteResult } from '../src/quorum/majority.js';
import { cloneTrackerConfig, newTrackerConfig, ProgressTracker } from '../src/tracker/tracker.js';
import { newConfState } from '../src/types.js';

function tracker(voters: number[], outgoing: number[] = [], learners: number[] = []): ProgressTracker {
  const tr = new ProgressTracker(8);
  restore(tr, 0, newConfState({ voters, votersOutgoing: outgoing, learners }));
  return tr;
}

test('committed follows the joint quorum of matched indexes and ignores learners', () => {
  const tr = tracker([1, 2, 3], [], [4]);
  const set = (m: Record<number, number>): void => {
    for (const [id, v] of Object.entries(m)) tr.get(Number(id))!.matched = v;
  };
  set({ 1: 5, 2: 3, 3: 1, 4: 100 });
  assert.equal(tr.committed(), 3);
  set({ 3: 4 });
  assert.equal(tr.committed(), 4);

  // The indexer must see progress installed later by applyConf.
  const [cfg, prs] = new Changer(tr, 10).enterJoint(false, [
    { changeType: 0, nodeId: 5 },
    { changeType: 1, nodeId: 1 },
  ]);
  tr.applyConf(cfg, prs, 11);
  // incoming (2 3 5): 3,4,0 -> 3; outgoing (1 2 3): 5,3,4 -> 4.
  assert.equal(tr.committed(), 3);
  tr.get(5)!.matched = 9;
  assert.equal(tr.committed(), 4);
});

test('isSingleton', () => {
  assert.equal(tracker([1]).isSingleton(), true);
  assert.equal(tracker([1], [], [2]).isSingleton(), true);
  assert.equal(tracker([1, 2]).isSingleton(), false);
  assert.equal(tracker([1], [1, 2]).isSingleton(), false);
  assert.equal(new ProgressTracker(1).isSingleton(), false);
});

test('votes: first vote wins, non-voters ignored in the tally', () => {
  const tr = tracker([1, 2, 3], [], [4]);
  tr.recordVote(1, true);
  tr.recordVote(1, false);
  tr.recordVote(4, true);
  assert.deepEqual(tr.tallyVotes(), { granted: 1, rejected: 0, result: VoteResult.Pending });
  tr.recordVote(2, false);
  assert.deepEqual(tr.tallyVotes(), { granted: 1, rejected: 1, result: VoteResult.Pending });
  tr.recordVote(3, true);
  assert.deepEqual(tr.tallyVotes(), { granted: 2, rejected: 1, result: VoteResult.Won });
  tr.resetVotes();
  tr.recordVote(2, false);
  tr.recordVote(3, false);
  assert.deepEqual(tr.tallyVotes(), { granted: 0, rejected: 2, result: VoteResult.Lost });

  // Joint: must win both halves.
  const j = tracker([1, 2, 3], [3, 4, 5]);
  for (const id of [1, 2, 3]) j.recordVote(id, true);
  assert.equal(j.tallyVotes().result, VoteResult.Pending);
  j.recordVote(4, true);
  assert.deepEqual(j.tallyVotes(), { granted: 4, rejected: 0, result: VoteResult.Won });
});

test('quorumRecentlyActive counts the perspective node and resets the others', () => {
  const tr = tracker([1, 2, 3, 4, 5], [], [6]);
  for (const pr of tr.progress.values()) pr.recentActive = false;
  tr.get(2)!.recentActive = true;
  tr.get(6)!.recentActive = true; // learners do not count
  assert.equal(tr.quorumRecentlyActive(1), false);
  assert.equal(tr.get(2)!.recentActive, false, 'reset after the check');
  assert.equal(tr.get(6)!.recentActive, false);
  assert.equal(tr.get(1)!.recentActive, true, 'the perspective node is active');

  tr.get(2)!.recentActive = true;
  tr.get(3)!.recentActive = true;
  assert.equal(tr.quorumRecentlyActive(1), true);
  // Nothing heard since: the second round fails.
  assert.equal(tr.quorumRecentlyActive(1), false);

  // Joint: both halves need an active majority.
  const j = tracker([1, 2, 3], [1, 4, 5]);
  for (const pr of j.progress.values()) pr.recentActive = false;
  j.get(2)!.recentActive = true;
  assert.equal(j.quorumRecentlyActive(1), false);
  j.get(2)!.recentActive = true;
  j.get(4)!.recentActive = true;
  assert.equal(j.quorumRecentlyActive(1), true);
});

test('confState is sorted; ids; hasQuorum; config clone', () => {
  const tr = tracker([3, 1, 2], [2, 5, 4], [9, 7]);
  assert.deepEqual(tr.confState(), newConfState({ voters: [1, 2, 3], votersOutgoing: [2, 4, 5], learners: [7, 9] }));
  assert.deepEqual([...tr.voterIds()].sort(), [1, 2, 3, 4, 5]);
  assert.deepEqual([...tr.learnerIds()].sort(), [7, 9]);
  assert.equal(tr.hasQuorum(new Set([1, 4, 5])), false);
  assert.equal(tr.hasQuorum(new Set([1, 2, 3])), false);
  assert.equal(tr.hasQuorum(new Set([1, 2, 4])), true);

  const c = cloneTrackerConfig(tr.config);
  c.learners.add(100);
  c.voters.incoming.ids.add(100);
  c.learnersNext.add(100);
  assert.equal(tr.config.learners.has(100), false);
  assert.equal(tr.config.voters.contains(100), false);
  assert.equal(tr.config.learnersNext.has(100), false);
  const e = newTrackerConfig();
  assert.equal(e.voters.isJoint(), false);
  assert.equal(e.autoLeave, false);
});
