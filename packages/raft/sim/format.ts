// Trace formatting.

import type { Logger } from '../src/index.js';
import { type Message, MessageType } from '../src/index.js';

/** One line per message, with only the fields that matter for its type. */
export function describeMessage(m: Message): string {
  let s = `${m.from}->${m.to} ${MessageType[m.msgType]} term=${m.term}`;
  const t = m.msgType;
  if (
    t === MessageType.MsgAppend ||
    t === MessageType.MsgAppendResponse ||
    t === MessageType.MsgRequestVote ||
    t === MessageType.MsgRequestPreVote
  ) {
    s += ` logTerm=${m.logTerm} index=${m.index}`;
  }
  if (m.entries.length) s += ` ents=[${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}]`;
  if (m.commit) s += ` commit=${m.commit}`;
  if (m.reject) s += ` reject(hint=${m.rejectHint})`;
  if (m.snapshot) s += ` snap=${m.snapshot.metadata.index}/${m.snapshot.metadata.term}`;
  return s;
}

/** Raft's own log lines, indented under the sim's trace. */
export function rawLogger(log: (l: string) => void): Logger {
  const f = (level: string) => (msg: string, fields?: Record<string, unknown>) =>
    log(`    raft ${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}`);
  return { debug: f('debug'), info: f('info'), warn: f('warn'), error: f('error') };
}
