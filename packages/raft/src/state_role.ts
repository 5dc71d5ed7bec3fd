/** The role a Raft node plays in its current term. */
export enum StateRole {
  Follower = 0,
  Candidate = 1,
  Leader = 2,
  PreCandidate = 3,
}

/** Volatile state worth telling the application about (not persisted). */
export interface SoftState {
  leaderId: number;
  raftState: StateRole;
}

export function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.leaderId === b.leaderId && a.raftState === b.raftState;
}

/** Node id 0 means "nobody": no leader known, no vote cast. */
export const INVALID_ID = 0;
/** Index 0 means "no index". */
export const INVALID_INDEX = 0;
