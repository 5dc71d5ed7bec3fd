// The raft library's view of the eraftpb messages. Enums come from the generated proto package;
// the interfaces are plain objects with every field present (fixed shapes keep V8 fast) and are
// structurally compatible with the generated classes, so decoded wire messages can be stepped
// directly and raft messages can be encoded directly.
import { eraftpb } from '@tskv/proto';

export const MessageType = eraftpb.MessageType;
export type MessageType = eraftpb.MessageType;
export const EntryType = eraftpb.EntryType;
export type EntryType = eraftpb.EntryType;
export const ConfChangeType = eraftpb.ConfChangeType;
export type ConfChangeType = eraftpb.ConfChangeType;
export const ConfChangeTransition = eraftpb.ConfChangeTransition;
export type ConfChangeTransition = eraftpb.ConfChangeTransition;

/** Shared empty buffer for absent bytes fields; never mutated. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

export interface Entry {
  entryType: EntryType;
  term: number;
  index: number;
  data: Uint8Array;
  context: Uint8Array;
}

export interface ConfState {
  voters: number[];
  learners: number[];
  votersOutgoing: number[];
  learnersNext: number[];
  autoLeave: boolean;
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export interface Message {
  msgType: MessageType;
  to: number;
  from: number;
  term: number;
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot: Snapshot | null;
  requestSnapshot: number;
  reject: boolean;
  rejectHint: number;
  context: Uint8Array;
}

export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export interface ConfChange {
  changeType: ConfChangeType;
  nodeId: number;
  context: Uint8Array;
}

export interface ConfChangeSingle {
  changeType: ConfChangeType;
  nodeId: number;
}

export interface ConfChangeV2 {
  transition: ConfChangeTransition;
  changes: ConfChangeSingle[];
  context: Uint8Array;
}

export function newEntry(fields: Partial<Entry> = {}): Entry {
  return {
    entryType: fields.entryType ?? EntryType.EntryNormal,
    term: fields.term ?? 0,
    index: fields.index ?? 0,
    data: fields.data ?? EMPTY_BYTES,
    context: fields.context ?? EMPTY_BYTES,
  };
}

export function newMessage(fields: Partial<Message> = {}): Message {
  return {
    msgType: fields.msgType ?? MessageType.MsgHup,
    to: fields.to ?? 0,
    from: fields.from ?? 0,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    snapshot: fields.snapshot ?? null,
    requestSnapshot: fields.requestSnapshot ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? EMPTY_BYTES,
  };
}

export function newConfState(fields: Partial<ConfState> = {}): ConfState {
  return {
    voters: fields.voters ?? [],
    learners: fields.learners ?? [],
    votersOutgoing: fields.votersOutgoing ?? [],
    learnersNext: fields.learnersNext ?? [],
    autoLeave: fields.autoLeave ?? false,
  };
}

export function newSnapshot(index = 0, term = 0, confState: ConfState = newConfState(), data: Uint8Array = EMPTY_BYTES): Snapshot {
  return { data, metadata: { confState, index, term } };
}

export function newHardState(term = 0, vote = 0, commit = 0): HardState {
  return { term, vote, commit };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === 0 && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function isEmptySnapshot(s: Snapshot | null | undefined): boolean {
  return !s?.metadata || s.metadata.index === 0;
}

export function confChange(changeType: ConfChangeType, nodeId: number, context: Uint8Array = EMPTY_BYTES): ConfChange {
  return { changeType, nodeId, context };
}

export function confChangeV2(
  changes: ConfChangeSingle[],
  transition: ConfChangeTransition = ConfChangeTransition.Auto,
  context: Uint8Array = EMPTY_BYTES,
): ConfChangeV2 {
  return { transition, changes, context };
}

/** Converts a single-step ConfChange into the equivalent ConfChangeV2 (a simple change). */
export function toConfChangeV2(cc: ConfChange | ConfChangeV2): ConfChangeV2 {
  if ('changes' in cc) return cc;
  return { transition: ConfChangeTransition.Auto, changes: [{ changeType: cc.changeType, nodeId: cc.nodeId }], context: cc.context };
}

export function isConfChangeV2(cc: ConfChange | ConfChangeV2): cc is ConfChangeV2 {
  return 'changes' in cc;
}

export function encodeConfChange(cc: ConfChange | ConfChangeV2): { entryType: EntryType; data: Uint8Array } {
  if (isConfChangeV2(cc)) return { entryType: EntryType.EntryConfChangeV2, data: eraftpb.ConfChangeV2.encode(cc).finish() };
  return { entryType: EntryType.EntryConfChange, data: eraftpb.ConfChange.encode(cc).finish() };
}

/** Decodes the conf change carried by an EntryConfChange / EntryConfChangeV2 entry. */
export function decodeConfChange(e: Entry): ConfChange | ConfChangeV2 {
  if (e.entryType === EntryType.EntryConfChangeV2) {
    const d = eraftpb.ConfChangeV2.decode(e.data);
    return {
      transition: d.transition,
      changes: d.changes.map((c) => ({ changeType: c.changeType ?? ConfChangeType.AddNode, nodeId: c.nodeId ?? 0 })),
      context: d.context,
    };
  }
  if (e.entryType === EntryType.EntryConfChange) {
    const d = eraftpb.ConfChange.decode(e.data);
    return { changeType: d.changeType, nodeId: d.nodeId, context: d.context };
  }
  throw new Error(`entry ${e.index} of type ${e.entryType} is not a conf change`);
}
