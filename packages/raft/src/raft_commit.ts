// The leader's log appends and their back pressure (the uncommitted-size limit), what applying
// committed entries sets off (leaving a joint configuration), and the scan for unapplied conf
// changes that gates campaigns. Raft keeps thin methods over these.

import type { Raft } from './raft.js';
import { StateRole } from './state_role.js';
import { ConfChangeTransition, EMPTY_BYTES, type Entry, EntryType, encodeConfChange } from './types.js';
import { payloadsSize } from './util.js';

/**
 * Records that committed entries up to `applied` were applied. A leader whose joint configuration
 * was entered with autoLeave proposes leaving it once that configuration is applied.
 */
export function commitApply(r: Raft, applied: number): void {
  const oldApplied = r.raftLog.applied;
  r.raftLog.appliedTo(applied);
  if (r.prs.config.autoLeave && r.state === StateRole.Leader && oldApplied <= r.pendingConfIndex && applied >= r.pendingConfIndex) {
    // An empty ConfChangeV2 is "leave joint". Appending never fails for an empty payload.
    const { entryType, data } = encodeConfChange({ transition: ConfChangeTransition.Auto, changes: [], context: EMPTY_BYTES });
    const ent: Entry = { entryType, term: 0, index: 0, data, context: EMPTY_BYTES };
    if (!r.appendEntry([ent])) throw new Error('raft: appending an empty conf change must not be dropped');
    r.pendingConfIndex = r.raftLog.lastIndex();
    r.bcastAppend();
    r.logger.info('raft: initiating automatic transition out of joint configuration', {
      raftId: r.id,
      config: r.prs.confState(),
    });
  }
}

/**
 * True if a committed entry above the applied index is a conf change: until it is applied, the
 * configuration this node would count votes in is not the committed one. Entries below the
 * first index are covered by a snapshot whose configuration was adopted when it was restored, so
 * the scan starts at the later of applied+1 and firstIndex(). The scan reads the log, so it runs
 * only when campaigning, in pages so a long backlog is not materialized at once.
 */
export function hasUnappliedConfChange(r: Raft): boolean {
  const { applied, committed } = r.raftLog;
  if (applied >= committed) return false;
  let lo = Math.max(applied + 1, r.raftLog.firstIndex());
  const hi = committed + 1;
  while (lo < hi) {
    const ents = r.raftLog.slice(lo, hi, r.maxCommittedSizePerReady);
    for (const e of ents) {
      if (e.entryType === EntryType.EntryConfChange || e.entryType === EntryType.EntryConfChangeV2) return true;
    }
    lo += ents.length;
  }
  return false;
}

/** Appends proposals as a leader; false if the uncommitted-size limit refuses them. */
export function appendEntry(r: Raft, es: Entry[]): boolean {
  if (!increaseUncommittedSize(r, es)) {
    r.logger.debug('raft: appending new entries would exceed the uncommitted entry size limit; dropping proposal', {
      raftId: r.id,
    });
    return false;
  }
  const li = r.raftLog.lastIndex();
  for (let i = 0; i < es.length; i++) {
    const e = es[i]!;
    e.term = r.term;
    e.index = li + 1 + i;
  }
  r.raftLog.append(es);
  // The leader's own match index advances in onPersistEntries, once these are durable.
  return true;
}

function increaseUncommittedSize(r: Raft, ents: Entry[]): boolean {
  const size = payloadsSize(ents);
  // A lone proposal is always accepted, however large, so progress is always possible.
  if (r.uncommittedSize > 0 && size > 0 && r.uncommittedSize + size > r.maxUncommittedSize) return false;
  r.uncommittedSize += size;
  return true;
}
