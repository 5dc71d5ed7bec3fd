import { raft_cmdpb } from '@tskv/proto';
import { RaftMessage } from './transport.js';

export type CmdCallback = (resp: raft_cmdpb.IRaftCmdResponse) => void;

/** What a peer's mailbox holds. */
export type PeerMsg =
  | { kind: 'raft'; msg: RaftMessage }
  | { kind: 'cmd'; req: raft_cmdpb.IRaftCmdRequest; cb: CmdCallback }
  | { kind: 'tick' };
