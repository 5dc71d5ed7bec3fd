// LeaderLease (expiry, term, no lease in a term with a transfer) and VoteGrace (a restarted peer
// ignores lease-bound vote requests for its first election timeout).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eraftpb } from '@tskv/proto';
import type { Message } from '@tskv/raft';
import { LeaderLease, VoteGrace } from '../src/peer_lease.js';

test('a lease runs from when its confirmed read index was requested, in that term only', () => {
  const l = new LeaderLease(800);
  assert.equal(l.enabled, true);
  assert.equal(l.covers(3, 0), false, 'no lease before a confirmation');
  l.renew(1000, 3);
  assert.equal(l.covers(3, 1000), true);
  assert.equal(l.covers(3, 1799), true);
  assert.equal(l.covers(3, 1800), false, 'ends at issue time + length');
  assert.equal(l.covers(4, 1500), false, 'another term');
  l.renew(900, 3);
  assert.equal(l.covers(3, 1750), true, 'an older confirmation does not shorten it');
  l.renew(1200, 3);
  assert.equal(l.covers(3, 1900), true, 'a later one extends it');
  l.renew(500, 4);
  assert.equal(l.covers(4, 1000), true, 'a new term starts over, even earlier');
  assert.equal(l.covers(4, 1300), false);
  l.renew(2000, 4);
  l.expire();
  assert.equal(l.covers(4, 2001), false, 'expired when leadership went');
});

test('no lease reads for the rest of a term in which a transfer started', () => {
  const l = new LeaderLease(800);
  l.renew(0, 7);
  l.noteTransfer(7, 0);
  assert.equal(l.covers(7, 10), true, 'no transferee: nothing noted');
  l.noteTransfer(7, 2);
  assert.equal(l.covers(7, 10), false);
  l.renew(20, 7);
  assert.equal(l.covers(7, 30), false, 'even after the transfer ended in that term');
  l.renew(40, 8);
  assert.equal(l.covers(8, 50), true, 'the next term has its lease again');
});

test('a lease of length 0 is off; reads served are counted', () => {
  const l = new LeaderLease(0);
  assert.equal(l.enabled, false);
  l.renew(0, 1);
  assert.equal(l.covers(1, 0), false);
  l.countRead();
  l.countRead();
  assert.equal(l.reads, 2);
});

const vote = (type: eraftpb.MessageType, term: number, context?: string): Message =>
  ({ msgType: type, term, from: 2, to: 1, context: context ? Buffer.from(context) : new Uint8Array(0) }) as unknown as Message;

test("the vote grace ignores vote and pre-vote requests of a higher term, not a transfer's, until it ticks out", () => {
  const MT = eraftpb.MessageType;
  const g = new VoteGrace(2);
  assert.equal(g.active, true);
  assert.equal(g.ignores(vote(MT.MsgRequestVote, 6), 5), true);
  assert.equal(g.ignores(vote(MT.MsgRequestPreVote, 6), 5), true);
  assert.equal(g.ignores(vote(MT.MsgRequestVote, 5), 5), false, 'the same term: raft decides');
  assert.equal(g.ignores(vote(MT.MsgRequestVote, 6, 'CampaignTransfer'), 5), false, "a transfer's campaign");
  assert.equal(g.ignores(vote(MT.MsgAppend, 6), 5), false, 'not a vote request');
  g.tick();
  assert.equal(g.ignores(vote(MT.MsgRequestVote, 6), 5), true);
  g.tick();
  assert.equal(g.active, false);
  assert.equal(g.ignores(vote(MT.MsgRequestVote, 6), 5), false, 'over after its ticks');
  g.tick();
  assert.equal(g.active, false);
  assert.equal(new VoteGrace(0).ignores(vote(MT.MsgRequestVote, 9), 5), false, 'a peer without grace');
});
