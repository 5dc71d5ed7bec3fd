// Logical time: a follower's or candidate's election timer, and a leader's heartbeat and
// check-quorum timers. Raft.tick picks one by role.

import type { Raft } from './raft.js';
import { INVALID_ID, StateRole } from './state_role.js';
import { MessageType, newMessage } from './types.js';

/** A follower's or candidate's tick: campaigns once the randomized election timeout has passed. */
export function tickElection(r: Raft): void {
  r.electionElapsed++;
  if (r.pastElectionTimeout() && r.promotable()) {
    r.electionElapsed = 0;
    r.step(newMessage({ msgType: MessageType.MsgHup, from: r.id }));
  }
}

/** A leader's tick: checks its quorum every election timeout and sends heartbeats every heartbeat timeout. */
export function tickHeartbeat(r: Raft): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.electionTimeout) {
    r.electionElapsed = 0;
    if (r.checkQuorum) r.step(newMessage({ msgType: MessageType.MsgCheckQuorum, from: r.id }));
    // A transfer that did not finish within an election timeout is abandoned.
    if (r.state === StateRole.Leader && r.leadTransferee !== INVALID_ID) r.abortLeaderTransfer();
  }
  if (r.state !== StateRole.Leader) return;
  if (r.heartbeatElapsed >= r.heartbeatTimeout) {
    r.heartbeatElapsed = 0;
    // Equivalent to stepping a local MsgBeat, without allocating one per leader per interval.
    r.bcastHeartbeat();
  }
}
