// The transactional workloads: closed-loop clients running Percolator transactions (TxnClient),
// every transaction recorded with its invocation and completion time and its outcome, then
// checked by packages/checker:
//
// - bank: accounts bank/NN with an initial balance each; a transfer reads two accounts and
//   moves an amount between them (never overdrawing), a read takes every balance in one
//   snapshot (a scan at the start ts). Checked by checkBank: every read sums to the total.
// - list-append: keys la/N hold lists of unique integers; a transaction of 1-4 micro-ops reads
//   keys and appends to others (read-modify-write: get the list, put it with the element
//   added). Checked by checkListAppend (Elle's rules) for snapshot isolation with real-time
//   order: lost updates, aborted or intermediate reads, and dependency cycles.
//
// Outcomes: ok (committed; a read-only transaction's reads are valid); fail (definitely not
// committed: it failed before commit, or with a write conflict or an abort at prewrite);
// unknown (the commit failed in any other way: its primary may have committed).

import {
  type BankOp,
  type BankResult,
  checkBank,
  checkListAppend,
  type ListAppendMop,
  type ListAppendResult,
  type ListAppendTxn,
} from '@tskv/checker';
import {
  AmbiguousResultError,
  InvalidArgumentError,
  type Transaction,
  TxnAbortedError,
  type TxnClient,
  WriteConflictError,
} from '@tskv/client';
import type { Prng } from '@tskv/util';

export type TxnWorkloadKind = 'bank' | 'list-append';
export const TXN_WORKLOADS: readonly TxnWorkloadKind[] = ['bank', 'list-append'];

export interface TxnWorkloadOptions {
  kind: TxnWorkloadKind;
  clients: number;
  /** Accounts (bank) or keys (list-append). */
  keys: number;
  /** Think time between a client's transactions, ms. */
  thinkMs: number;
}

/** What the run reports of a transactional workload. */
export interface TxnVerdict {
  kind: TxnWorkloadKind;
  valid: boolean;
  txns: { ok: number; fail: number; unknown: number };
  /** One line per anomaly reported by the checker (empty when valid). */
  anomalies: string[];
  /** The checker's summary line. */
  summary: string;
}

const INITIAL_BALANCE = 100;
const enc = new TextEncoder();
const dec = new TextDecoder();
const acct = (i: number): string => `bank/${String(i).padStart(3, '0')}`;
const laKey = (i: number): string => `la/${String(i).padStart(3, '0')}`;

/** A committed transaction's outcome is known only if commit returned; see the header. */
function outcomeOf(e: unknown, committing: boolean): 'fail' | 'unknown' {
  if (!committing) return 'fail';
  if (e instanceof WriteConflictError || e instanceof TxnAbortedError) return 'fail';
  if (e instanceof AmbiguousResultError) return 'unknown';
  return 'unknown';
}

export class TxnWorkload {
  readonly bankOps: BankOp[] = [];
  readonly listTxns: ListAppendTxn[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private nextElement = 0;
  private nextId = 0;

  constructor(
    private readonly clients: TxnClient[],
    readonly opts: TxnWorkloadOptions,
    private readonly random: Prng,
  ) {
    if (clients.length !== opts.clients) throw new Error('one TxnClient per workload client');
  }

  /** The initial state (bank: every account funded, in one transaction), retried until it commits. */
  async setup(c: TxnClient): Promise<void> {
    if (this.opts.kind !== 'bank') return;
    await c.runTxn(
      async (t) => {
        for (let i = 0; i < this.opts.keys; i++) t.put(acct(i), String(INITIAL_BALANCE));
      },
      { retries: 50 },
    );
  }

  start(): void {
    this.running = true;
    this.loops = this.clients.map((c, i) => this.loop(c, i + 1, this.random.fork()));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(c: TxnClient, clientId: number, r: Prng): Promise<void> {
    while (this.running) {
      if (this.opts.kind === 'bank') await this.bankTxn(c, clientId, r);
      else await this.listTxn(c, clientId, this.mops(r));
      if (this.opts.thinkMs > 0) await new Promise((res) => setTimeout(res, r.range(0, this.opts.thinkMs)));
    }
  }

  /** One final read of everything after the faults healed; true once it succeeded. */
  async finalRead(c: TxnClient, clientId = 0): Promise<boolean> {
    if (this.opts.kind === 'bank') return (await this.bankRead(c, clientId, true)) === 'ok';
    const mops: ListAppendMop[] = Array.from({ length: this.opts.keys }, (_, i) => ['r', i, null] as const);
    return (await this.listTxn(c, clientId, mops)) === 'ok';
  }

  // ---- bank ----

  private async bankTxn(c: TxnClient, clientId: number, r: Prng): Promise<void> {
    if (r.next() < 0.3) {
      await this.bankRead(c, clientId, false);
      return;
    }
    const n = this.opts.keys;
    const from = r.range(0, n - 1);
    const to = (from + r.range(1, n - 1)) % n;
    const amount = r.range(1, 5);
    const op: BankOp = {
      id: this.nextId++,
      clientId,
      input: { kind: 'transfer', from: acct(from), to: acct(to), amount },
      call: performance.now(),
      return: Infinity,
      status: 'unknown',
    };
    this.bankOps.push(op);
    let committing = false;
    let t: Transaction | null = null;
    try {
      t = await c.begin();
      const [a, b] = await t.batchGet([acct(from), acct(to)]);
      const va = Number(dec.decode(a!));
      const vb = Number(dec.decode(b!));
      if (va >= amount) {
        t.put(acct(from), String(va - amount));
        t.put(acct(to), String(vb + amount));
      }
      committing = true;
      await t.commit();
      op.status = 'ok';
      op.return = performance.now();
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e;
      op.status = outcomeOf(e, committing);
      if (op.status === 'fail') op.return = performance.now();
      if (!committing) await t?.rollback().catch(() => undefined);
    }
  }

  private async bankRead(c: TxnClient, clientId: number, final: boolean): Promise<'ok' | 'fail'> {
    const op: BankOp = {
      id: this.nextId++,
      clientId,
      input: { kind: 'read', final },
      call: performance.now(),
      return: Infinity,
      status: 'fail',
    };
    this.bankOps.push(op);
    try {
      const t = await c.begin();
      const pairs = await t.scan('bank/', 'bank0');
      await t.rollback();
      const balances: Record<string, number> = {};
      for (const p of pairs) balances[dec.decode(p.key)] = Number(dec.decode(p.value));
      op.output = { balances };
      op.status = 'ok';
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e;
      op.status = 'fail';
    }
    op.return = performance.now();
    return op.status;
  }

  // ---- list-append ----

  private mops(r: Prng): ListAppendMop[] {
    const n = r.range(1, 4);
    return Array.from({ length: n }, () => {
      const k = r.range(0, this.opts.keys - 1);
      return r.next() < 0.5 ? (['r', k, null] as const) : (['append', k, ++this.nextElement] as const);
    });
  }

  private async listTxn(c: TxnClient, clientId: number, mops: ListAppendMop[]): Promise<'ok' | 'fail' | 'unknown'> {
    const txn: ListAppendTxn & { ops: ListAppendMop[] } = {
      id: this.nextId++,
      clientId,
      call: performance.now(),
      return: Infinity,
      status: 'unknown',
      ops: mops,
    };
    this.listTxns.push(txn);
    let committing = false;
    let t: Transaction | null = null;
    try {
      t = await c.begin();
      const done: ListAppendMop[] = [];
      for (const m of mops) {
        const key = laKey(Number(m[1]));
        const v = await t.get(key);
        const list = v === null ? null : dec.decode(v).split(',').map(Number);
        if (m[0] === 'r') done.push(['r', m[1], list]);
        else {
          t.put(key, enc.encode([...(list ?? []), m[2]].join(',')));
          done.push(m);
        }
      }
      committing = true;
      await t.commit();
      txn.ops = done;
      txn.status = 'ok';
      txn.return = performance.now();
    } catch (e) {
      if (e instanceof InvalidArgumentError) throw e;
      txn.status = outcomeOf(e, committing);
      if (txn.status === 'fail') txn.return = performance.now();
      if (!committing) await t?.rollback().catch(() => undefined);
    }
    return txn.status;
  }

  // ---- the verdict ----

  check(): TxnVerdict {
    const count = (ss: readonly { status: string }[]) => ({
      ok: ss.filter((s) => s.status === 'ok').length,
      fail: ss.filter((s) => s.status === 'fail').length,
      unknown: ss.filter((s) => s.status === 'unknown').length,
    });
    if (this.opts.kind === 'bank') {
      const accounts = Array.from({ length: this.opts.keys }, (_, i) => acct(i));
      const r: BankResult = checkBank(this.bankOps, { accounts, total: INITIAL_BALANCE * this.opts.keys });
      return {
        kind: 'bank',
        valid: r.valid,
        txns: count(this.bankOps.filter((o) => o.input.kind === 'transfer')),
        anomalies: r.anomalies.map((a) => `${a.type}: ${a.explanation}`),
        summary: `${r.stats.reads.ok} snapshot reads, final total ${r.final?.sum ?? '?'} of ${INITIAL_BALANCE * this.opts.keys}`,
      };
    }
    const r: ListAppendResult = checkListAppend(this.listTxns, { consistency: 'snapshot-isolation', realtime: true });
    return {
      kind: 'list-append',
      valid: r.valid,
      txns: count(this.listTxns),
      anomalies: r.anomalies.map((a) => `${a.type} (txns ${a.txns.join(', ')}): ${a.explanation}`),
      summary: `snapshot isolation with real-time order: ${r.valid ? 'holds' : 'violated'}; G2-item (allowed) ${r.counts['G2-item'] ?? 0}`,
    };
  }
}
