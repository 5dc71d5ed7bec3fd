// A checker for bank histories: transfers between accounts conserve the total, so every
// snapshot read of all accounts must sum to it. A read that does not saw part of a transfer (a
// torn or lost write, read skew) or a transfer applied twice. Transfers themselves are not
// checked: under faults their outcome is often unknown, and the reads are what reveal the damage.
import { type TxnOperation, validateTxnBasics } from './types.js';

export type BankInput =
  | { kind: 'transfer'; from: string; to: string; amount: number }
  /** final: taken after the faults were healed; there must be at least one (see requireFinalRead). */
  | { kind: 'read'; final?: boolean };

/** For an 'ok' read: the balance of every account, read in one snapshot. Ignored for transfers. */
export interface BankOutput {
  balances?: Readonly<Record<string, number>>;
}

export type BankOp = TxnOperation<BankInput, BankOutput>;

export interface BankOptions {
  accounts: readonly string[];
  /** The initial (and invariant) sum of all balances. */
  total: number;
  /** Allow negative balances (default false: a transfer must not overdraw). */
  negativeAllowed?: boolean;
  /** Require at least one 'ok' read marked final (default true). */
  requireFinalRead?: boolean;
  /** Anomalies kept in the report (all are counted); default 10. */
  maxReports?: number;
}

export type BankAnomalyType = 'wrong-total' | 'negative-balance' | 'malformed-read' | 'missing-final-read';

export interface BankAnomaly {
  type: BankAnomalyType;
  /** The read, absent for 'missing-final-read'. */
  op?: BankOp;
  final?: boolean;
  balances?: Readonly<Record<string, number>>;
  sum?: number;
  explanation: string;
}

export interface BankResult {
  valid: boolean;
  /** Bad reads in call order, up to maxReports; then 'missing-final-read' if so. */
  anomalies: BankAnomaly[];
  counts: Partial<Record<BankAnomalyType, number>>;
  /** The earliest-called bad read. */
  firstBad?: BankAnomaly;
  /** The last-called 'ok' final read, with its sum. */
  final?: { op: BankOp; sum: number };
  stats: {
    reads: Record<'ok' | 'fail' | 'unknown', number>;
    transfers: Record<'ok' | 'fail' | 'unknown', number>;
  };
  elapsedMs: number;
}

function fmtBalances(b: Readonly<Record<string, number>>): string {
  return `{${Object.entries(b)
    .map(([a, v]) => `${a}: ${v}`)
    .join(', ')}}`;
}

function describeRead(op: BankOp): string {
  const final = op.input.kind === 'read' && op.input.final ? 'final read' : 'read';
  return `${final} #${op.id} (client ${op.clientId}, called at ${op.call})`;
}

/**
 * Checks a bank history. Throws on malformed input: duplicate ids, an unknown status, a transfer
 * naming an unknown account or the same account twice, an 'ok' read without balances.
 */
export function checkBank(ops: readonly BankOp[], opts: BankOptions): BankResult {
  const start = performance.now();
  validateTxnBasics(ops, 'bank');
  const accounts = new Set(opts.accounts);
  const stats: BankResult['stats'] = { reads: { ok: 0, fail: 0, unknown: 0 }, transfers: { ok: 0, fail: 0, unknown: 0 } };
  for (const op of ops) {
    const i = op.input;
    if (i.kind === 'transfer') {
      if (!accounts.has(i.from) || !accounts.has(i.to) || i.from === i.to || !Number.isFinite(i.amount)) {
        throw new Error(`bank: operation ${op.id} is a malformed transfer ${JSON.stringify(i)}`);
      }
      stats.transfers[op.status]++;
    } else if (i.kind === 'read') {
      if (op.status === 'ok' && (op.output?.balances === undefined || op.output.balances === null)) {
        throw new Error(`bank: 'ok' read ${op.id} has no balances`);
      }
      stats.reads[op.status]++;
    } else {
      throw new Error(`bank: operation ${op.id} has unknown kind ${JSON.stringify(i)}`);
    }
  }

  // Sums of numbers that are not integers may differ from the total by rounding only.
  const tolerance = Number.isInteger(opts.total) ? 0 : 1e-9 * Math.max(1, Math.abs(opts.total));
  const found: BankAnomaly[] = [];
  const reads = ops.filter((op) => op.input.kind === 'read' && op.status === 'ok').sort((a, b) => a.call - b.call || a.id - b.id);
  let final: BankResult['final'];
  for (const op of reads) {
    const balances = op.output!.balances!;
    const isFinal = op.input.kind === 'read' && op.input.final === true;
    const base = { op, final: isFinal, balances };
    const missing = opts.accounts.filter((a) => !Object.hasOwn(balances, a));
    const extra = Object.keys(balances).filter((a) => !accounts.has(a));
    const nonNumeric = Object.entries(balances).filter(([, v]) => typeof v !== 'number' || !Number.isFinite(v));
    if (missing.length > 0 || extra.length > 0 || nonNumeric.length > 0) {
      const what = [
        missing.length > 0 ? `no balance for ${missing.join(', ')}` : '',
        extra.length > 0 ? `unknown accounts ${extra.join(', ')}` : '',
        nonNumeric.length > 0 ? `non-numeric balances for ${nonNumeric.map(([a]) => a).join(', ')}` : '',
      ].filter((s) => s !== '');
      found.push({ ...base, type: 'malformed-read', explanation: `${describeRead(op)} has ${what.join('; ')}: ${fmtBalances(balances)}` });
      continue;
    }
    let sum = 0;
    for (const a of opts.accounts) sum += balances[a]!;
    if (isFinal) final = { op, sum };
    if (Math.abs(sum - opts.total) > tolerance) {
      found.push({
        ...base,
        type: 'wrong-total',
        sum,
        explanation: `${describeRead(op)} saw ${fmtBalances(balances)}, which sums to ${sum}, not ${opts.total} (off by ${sum - opts.total})`,
      });
    }
    const negative = opts.negativeAllowed ? [] : opts.accounts.filter((a) => balances[a]! < 0);
    if (negative.length > 0) {
      found.push({
        ...base,
        type: 'negative-balance',
        sum,
        explanation: `${describeRead(op)} saw negative balances (${negative.map((a) => `${a}: ${balances[a]}`).join(', ')}) in ${fmtBalances(balances)}`,
      });
    }
  }
  const firstBad = found[0];
  const anomalies = found.slice(0, opts.maxReports ?? 10);
  if ((opts.requireFinalRead ?? true) && final === undefined) {
    const missing: BankAnomaly = {
      type: 'missing-final-read',
      explanation: 'no final read (marked final, status ok) with well-formed balances: the end state is unchecked',
    };
    found.push(missing);
    anomalies.push(missing);
  }
  const counts: BankResult['counts'] = {};
  for (const a of found) counts[a.type] = (counts[a.type] ?? 0) + 1;
  return {
    valid: found.length === 0,
    anomalies,
    counts,
    firstBad,
    final,
    stats,
    elapsedMs: performance.now() - start,
  };
}
