/** Outcome of tallying votes against a (majority or joint) configuration. */
export enum VoteResult {
  /** Not decided yet: enough voters are still missing to swing it either way. */
  Pending = 0,
  /** A quorum can no longer be reached even if every missing voter grants. */
  Lost = 1,
  /** A quorum granted the vote. */
  Won = 2,
}
