// A snapshot is named by its region and the raft position (term, index) it captures: the same
// key on two stores means the same data, which is what makes resumable/idempotent receipt safe.
import type { RaftMessage } from '../transport.js';
import { SnapshotCorruptError } from './errors.js';

export interface SnapKey {
  regionId: number;
  term: number;
  index: number;
}

export function snapKeyString(k: SnapKey): string {
  return `${k.regionId}_${k.term}_${k.index}`;
}

export function parseSnapKey(s: string): SnapKey {
  const m = /^(\d+)_(\d+)_(\d+)$/.exec(s);
  if (m === null) throw new Error(`invalid snapshot key ${JSON.stringify(s)}`);
  return { regionId: Number(m[1]), term: Number(m[2]), index: Number(m[3]) };
}

/** The key of the snapshot a MsgSnapshot carries (region id + snapshot metadata). */
export function snapKeyOf(msg: RaftMessage): SnapKey {
  const md = msg.message?.snapshot?.metadata;
  if (!msg.regionId || !md) throw new SnapshotCorruptError('raft message carries no snapshot metadata or region id');
  return { regionId: Number(msg.regionId), term: Number(md.term ?? 0), index: Number(md.index ?? 0) };
}

export function sameSnapKey(a: SnapKey, b: SnapKey): boolean {
  return a.regionId === b.regionId && a.term === b.term && a.index === b.index;
}
