// Output: a one-line summary per run (progress), the result tables (Markdown, aligned, so the same
// text reads on a terminal and in docs/benchmarks.md), the machine description, and the docs
// section writer that replaces "## Cluster benchmark (bench:cluster)" on re-runs.
import { cpus, loadavg, release, totalmem } from 'node:os';
import { type BenchOptions, isTxnWorkload } from './args.js';
import type { RunResult } from './runner.js';

export const DOCS_HEADING = '## Cluster benchmark (bench:cluster)';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  etcd: string | null;
  /** What drove etcd (the Go benchmark tool and its version, or the Node loops). */
  etcdDriver?: string;
  loadAvgStart: number[];
  loadAvgEnd?: number[];
}

export function machine(etcd: string | null): Machine {
  const c = cpus();
  return {
    cores: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    kernel: release(),
    etcd,
    loadAvgStart: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

/** Milliseconds with about 3 significant digits. */
export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (n < 10) return n.toFixed(2);
  if (n < 100) return n.toFixed(1);
  return n.toFixed(0);
}

function fmtCpu(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(0);
}

/** An aligned Markdown table (right-aligned columns where `right` is set). */
export function table(head: string[], rows: string[][], right: boolean[] = head.map(() => true)): string {
  const w = head.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join(' | ')} |`;
  const sep = `|${w.map((n, i) => (right[i] ? `${'-'.repeat(n + 1)}:` : `${'-'.repeat(n + 2)}`)).join('|')}|`;
  return [line(head), sep, ...rows.map(line)].join('\n');
}

/** Percent with about 2 significant digits ("0.52%", "3.1%", "27%"). */
export function fmtPct(x: number): string {
  if (!Number.isFinite(x)) return '-';
  const p = x * 100;
  if (p === 0) return '0%';
  if (p < 1) return `${p.toFixed(2)}%`;
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${p.toFixed(0)}%`;
}

/** Whether a run is of a transaction workload (one attempt per request, aborts counted). */
export function isTxnRun(r: RunResult): boolean {
  return isTxnWorkload(r.workload);
}

/**
 * The abort rate: aborted / attempted, where an attempt is every transaction that ended in the
 * measured period (committed, aborted, or failed with another error); NaN without attempts.
 */
export function abortRate(committed: number, aborted: number, errors: number): number {
  const attempted = committed + aborted + errors;
  return attempted > 0 ? aborted / attempted : NaN;
}

export function abortRateOf(r: RunResult): number {
  return abortRate(r.requests, r.aborts ?? 0, r.errors);
}

/** The throughput measure of a run: keys/s for batch-put, requests/s otherwise. */
export function rate(r: RunResult): number {
  return r.keysPerSec;
}

export function workloadLabel(w: string, batch: number): string {
  return w === 'batch-put' ? `batch-put ×${batch} (keys/s)` : w;
}

function regionsLabel(r: RunResult): string {
  const actual = Number(r.info.regionCount ?? 0);
  if (r.regions === 0) return `${actual} (as found)`;
  return actual && actual !== r.regions ? `${r.regions} (${actual})` : String(r.regions);
}

/** What generated a run's load (older JSON has no driver: the Node loops). */
export function driverOf(r: RunResult): 'node' | 'go' {
  return r.driver ?? 'node';
}

/** One line per run, for the progress output. */
export function runLine(r: RunResult): string {
  const cpu = Object.entries(r.cpu)
    .filter(([, v]) => v !== null && (v as number) >= 0.5)
    .map(([k, v]) => `${k} ${fmtCpu(v)}`)
    .join(', ');
  const txn = isTxnRun(r);
  const unit = r.workload === 'batch-put' ? 'keys/s' : txn ? 'txn/s' : 'ops/s';
  const sys = r.system === 'etcd' ? `etcd[${driverOf(r)}]` : r.system;
  const aborts = txn ? `aborts ${r.aborts ?? 0} (${fmtPct(abortRateOf(r))})  ` : '';
  return (
    `${sys.padEnd(4)} ${r.workload.padEnd(9)} ${String(r.valueSize).padStart(5)} B  regions ${regionsLabel(r).padEnd(4)} ` +
    `clients ${String(r.clients).padStart(4)}: ${fmtInt(rate(r)).padStart(8)} ${unit}  ` +
    `p50 ${fmtMs(r.latency.p50)}  p99 ${fmtMs(r.latency.p99)}  p99.9 ${fmtMs(r.latency.p999)} ms  ${aborts}errors ${r.errors}  ` +
    `| CPU%: ${cpu} | loop p99 ${fmtMs(r.loopDelay.p99)} ms`
  );
}

interface Pair {
  tskv: RunResult;
  etcd: RunResult | null;
}

/** Runs paired per cell (tskv first, then the same cell's etcd run if any), in run order. */
export function pairs(results: RunResult[]): Pair[] {
  const out: Pair[] = [];
  for (const r of results) {
    if (r.system === 'tskv') out.push({ tskv: r, etcd: null });
    else {
      const p = out[out.length - 1];
      if (p && !p.etcd && p.tskv.workload === r.workload && p.tskv.valueSize === r.valueSize && p.tskv.clients === r.clients) p.etcd = r;
    }
  }
  return out;
}

/**
 * The table of the raw workloads' runs (put, get, batch-put); empty without any. Transaction runs
 * are in txnTable.
 */
export function resultsTable(results: RunResult[]): string {
  return pairsTable(pairs(results.filter((r) => !isTxnRun(r))), false);
}

/**
 * The table of the transaction runs, the same columns as resultsTable's plus the abort rate of
 * each system: committed transactions/s, latency of the committed ones; empty without any.
 */
export function txnTable(results: RunResult[]): string {
  return pairsTable(pairs(results.filter((r) => isTxnRun(r))), true);
}

function pairsTable(ps: Pair[], txn: boolean): string {
  if (!ps.length) return '';
  const compare = ps.some((p) => p.etcd);
  const unit = txn ? 'txn/s' : 'ops/s';
  const aborts = txn ? ['abort %'] : [];
  const head = ['workload', 'value B', 'regions', 'clients', 'conns', `tskv ${unit}`, 'p50 ms', 'p99 ms', 'p99.9 ms', ...aborts, 'err'];
  if (compare) head.push('etcd driver', `etcd ${unit}`, 'p50 ms', 'p99 ms', 'p99.9 ms', ...aborts, 'err', 'tskv/etcd');
  const abortCell = (r: RunResult): string[] => (txn ? [fmtPct(abortRateOf(r))] : []);
  const rows = ps.map(({ tskv: t, etcd: e }) => {
    const row = [
      workloadLabel(t.workload, t.batchSize),
      String(t.valueSize),
      regionsLabel(t),
      String(t.clients),
      String(t.connections),
      fmtInt(rate(t)),
      fmtMs(t.latency.p50),
      fmtMs(t.latency.p99),
      fmtMs(t.latency.p999),
      ...abortCell(t),
      String(t.errors),
    ];
    if (compare) {
      if (e)
        row.push(
          driverOf(e),
          fmtInt(rate(e)),
          fmtMs(e.latency.p50),
          fmtMs(e.latency.p99),
          fmtMs(e.latency.p999),
          ...abortCell(e),
          String(e.errors),
          rate(e) > 0 ? `${(rate(t) / rate(e)).toFixed(2)}` : '-',
        );
      else row.push(...Array.from({ length: txn ? 8 : 7 }, () => '-'));
    }
    return row;
  });
  return table(
    head,
    rows,
    head.map((_, i) => i !== 0),
  );
}

function cpuCell(r: RunResult | null, names: string[]): string {
  if (!r) return '-';
  return names.map((n) => fmtCpu(r.cpu[n])).join(' / ');
}

export function cpuTable(results: RunResult[]): string {
  const ps = pairs(results);
  const compare = ps.some((p) => p.etcd);
  const tNames = ps[0] ? Object.keys(ps[0].tskv.cpu).filter((n) => !n.startsWith('etcd') && n !== 'bench') : [];
  const eNames = ps.find((p) => p.etcd)?.etcd ? Object.keys(ps.find((p) => p.etcd)!.etcd!.cpu).filter((n) => n.startsWith('etcd')) : [];
  const head = ['workload', 'value B', 'regions', 'clients', `tskv CPU% ${tNames.join(' / ')}`, 'total', 'bench CPU%', 'bench loop p99 ms'];
  if (compare) head.push('etcd driver', `etcd CPU% ${eNames.join(' / ')}`, 'total', 'bench CPU%', 'bench loop p99 ms');
  const sum = (r: RunResult | null, names: string[]): string => (r ? fmtCpu(names.reduce((a, n) => a + (r.cpu[n] ?? 0), 0)) : '-');
  const rows = ps.map(({ tskv: t, etcd: e }) => {
    const row = [
      workloadLabel(t.workload, t.batchSize),
      String(t.valueSize),
      regionsLabel(t),
      String(t.clients),
      cpuCell(t, tNames),
      sum(t, tNames),
      fmtCpu(t.cpu.bench),
      fmtMs(t.loopDelay.p99),
    ];
    if (compare)
      row.push(e ? driverOf(e) : '-', cpuCell(e, eNames), sum(e, eNames), e ? fmtCpu(e.cpu.bench) : '-', e ? fmtMs(e.loopDelay.p99) : '-');
    return row;
  });
  return table(
    head,
    rows,
    head.map((_, i) => i !== 0),
  );
}

/** Short name of a run: "etcd put 100 B ×256 (16 regions)". */
function runName(r: RunResult): string {
  return `${r.system} ${r.workload} ${r.valueSize} B ×${r.clients}${r.regions > 1 ? `, ${r.regions}-region cell` : ''}`;
}

/** Runs whose figure the generator or the machine may have limited, and runs with errors, grouped. */
export function saturationNotes(results: RunResult[], cores: number): string[] {
  const saturated: string[] = [];
  const late: string[] = [];
  const cpuBound: string[] = [];
  const errors: string[] = [];
  for (const r of results) {
    const gen = r.cpu.bench ?? 0;
    const threads = r.threads ?? 1;
    // The Go tool is multi-threaded and has no event loop: only the whole machine's CPU is checked.
    if (driverOf(r) === 'go') {
      /* not a Node generator */
    } else if (gen > 90 * threads) saturated.push(`${runName(r)} (${fmtCpu(gen)}%)`);
    else if (r.loopDelay.p99 > 50) late.push(`${runName(r)} (${fmtMs(r.loopDelay.p99)} ms at ${fmtCpu(gen)}% CPU)`);
    const total = Object.values(r.cpu).reduce<number>((a, v) => a + (v ?? 0), 0);
    if (total > cores * 100 * 0.9) cpuBound.push(`${runName(r)} (${fmtCpu(total)}%)`);
    if (r.errors > 0) errors.push(`${runName(r)}: ${r.errors} errors, e.g. ${r.errorSample}`);
  }
  const notes: string[] = [];
  if (saturated.length)
    notes.push(`The load generator was saturated (over 90% of a core per thread): the figure is a lower bound: ${saturated.join('; ')}.`);
  if (late.length)
    notes.push(
      `The load generator's event loop was late by more than 50 ms at p99 (busy with bursts of responses, or waiting for a core), ` +
        `so it may have limited the figure: ${late.join('; ')}.`,
    );
  if (cpuBound.length) notes.push(`All ${cores} cores were busy with the measured processes (CPU-bound): ${cpuBound.join('; ')}.`);
  notes.push(...errors);
  return notes;
}

export interface DocsInput {
  command: string;
  date: string;
  machine: Machine;
  results: RunResult[];
  description: string[];
  notes: string[];
}

export function docsSection(d: DocsInput): string {
  const m = d.machine;
  const la = (x?: number[]): string => (x ? x.map((v) => v.toFixed(2)).join(', ') : '?');
  const raw = resultsTable(d.results);
  const txn = txnTable(d.results);
  return [
    DOCS_HEADING,
    '',
    `\`${d.command}\` (source: \`packages/bench\`, see its README). Written by \`--write-docs\`: a re-run replaces this section.`,
    '',
    `${d.date}; ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}, Linux ${m.kernel}` +
      `${m.etcd ? `, etcd ${m.etcd}` : ''}${m.etcdDriver ? ` driven by ${m.etcdDriver}` : ''}. ` +
      `Load average ${la(m.loadAvgStart)} at the start, ${la(m.loadAvgEnd)} at the end.`,
    '',
    ...d.description,
    '',
    ...(raw ? [raw, ''] : []),
    ...(txn
      ? [
          'Transactions: one attempt each (an abort is not retried); "txn/s" counts committed transactions, the latency is that of ' +
            'the committed ones, "abort %" is aborted / attempted:',
          '',
          txn,
          '',
        ]
      : []),
    'CPU per process over the measured period, % of one core (scheduler / store1 / store2 / store3; etcd1 / etcd2 / etcd3), the ' +
      'load generator ("bench") and its event-loop delay:',
    '',
    cpuTable(d.results),
    '',
    ...(d.notes.length ? ['Flagged by the benchmark:', '', ...d.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}

/** Replaces the section (from its heading to the next "## " heading) or appends it. */
export function replaceSection(doc: string, section: string, heading = DOCS_HEADING): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  const body = section.replace(/\n+$/, '');
  if (start < 0) return `${doc.replace(/\n*$/, '')}\n\n${body}\n`;
  let end = lines.length;
  for (let i = start + 1; i < lines.length; i++) {
    if (/^## /.test(lines[i]!) || /^# /.test(lines[i]!)) {
      end = i;
      break;
    }
  }
  const before = lines.slice(0, start).join('\n').replace(/\n*$/, '');
  const after = lines.slice(end).join('\n');
  return `${before ? `${before}\n\n` : ''}${body}\n${after ? `\n${after.replace(/\n*$/, '')}\n` : ''}`;
}

/** The paragraphs of the docs section that say how the figures were made. */
export function describeRun(
  o: Pick<
    BenchOptions,
    'warmupS' | 'durationS' | 'connections' | 'clientsPerConnection' | 'compare' | 'batchSize' | 'etcdEndpoints' | 'keys' | 'attach'
  > & { threads?: number },
  cores: number,
  /** What drove etcd in the raw workloads' rows. */
  etcdDrivers: ('node' | 'go')[] = ['node'],
  /** What drove etcd in the transaction rows; null: no transaction rows. */
  txnEtcdDrivers: ('node' | 'go')[] | null = null,
): string[] {
  const conns = o.connections ? `${o.connections} per run, fixed` : `one per ${o.clientsPerConnection} loops`;
  const tskv = o.attach
    ? `tskv: an attached cluster (${o.attach}), measured as it was.`
    : 'tskv: a scheduler and 3 stores as separate processes (ProcessCluster), default config, sync raft writes (fsync), ' +
      'linearizable gets (ReadIndex). Before the runs of a region count, a fresh cluster is pre-split into at least that many ' +
      'regions (the actual count is in parentheses when it differs) and the benchmark waits until balance-leader has spread the ' +
      'leaders (counts per store differ by at most 1).';
  const to = o.etcdEndpoints === 'leader' ? 'leader' : 'members round-robin';
  const nodeEtcd =
    `driven by the same loops through its gRPC KV API (Put; Range, linearizable; a Txn of ${o.batchSize} puts for ` +
    `batch-put) with the connections to the ${to}`;
  const goEtcd =
    `driven by etcd's own benchmark tool (go.etcd.io/etcd/tools/benchmark of the same etcd version, built from ` +
    `Debian's packages; rows with "go" as driver): \`put\` (random keys of the same length, ${o.keys.toLocaleString('en-US')} of ` +
    `them), \`range KEY --consistency l\` (linearizable; the tool reads one preloaded key), \`txn-put --txn-ops ${o.batchSize}\` ` +
    `(consecutive keys) with the row's --clients and --conns, connections to the ${to}; as the tool runs a fixed --total, a cell ` +
    `is a short probe, a warm-up run of about ${o.warmupS} s at the probe's rate, then the measured run with --total set for about ` +
    `${o.durationS} s at the warm-up's rate (the measured period is the tool's own Total, latency percentiles are the tool's); ` +
    `"bench CPU%" of those rows is the tool's CPU (all its threads) and the etcd CPU is sampled over the tool's lifetime`;
  const drivers = [...new Set(etcdDrivers)];
  const how = drivers.length === 2 ? `${goEtcd}; rows with "node" as driver: ${nodeEtcd}` : drivers[0] === 'go' ? goEtcd : nodeEtcd;
  const etcd = o.compare
    ? ` etcd: 3 members on loopback with default settings (fsync per write)${drivers.length ? `, ${how}` : ''}; its history is ` +
      `compacted after each run. Each cell runs tskv, then etcd, before the next cell.`
    : '';
  const txn = txnEtcdDrivers ? ['', describeTxn(o, [...new Set(txnEtcdDrivers)])] : [];
  const threads = (o.threads ?? 1) > 1 ? ` (spread over ${o.threads} worker threads, each with its own connections)` : ' (one event loop)';
  return [
    `Each row: ${o.warmupS} s of warm-up, then ${o.durationS} s measured. "clients" are closed-loop request loops in the ` +
      `benchmark process${threads}, sharing "conns" connections (${conns}; a connection is a RawClient with its own stream per ` +
      `store, or one etcd gRPC channel). ${tskv}${etcd} Key space: ${o.keys.toLocaleString('en-US')} keys, all written with the ` +
      `row's value size before its runs; puts and gets pick keys uniformly at random, a batch-put ${o.batchSize} consecutive ` +
      `keys inside one region. Latency is per request (a whole batch for batch-put); batch-put throughput is in keys/s; ` +
      `"tskv/etcd" is the ratio of the throughputs.`,
    ...txn,
    '',
    `**The machine is shared with other engineers' test runs (see the load average), so the figures are noisy: compare rows of ` +
      `one run, not across runs.** All processes (scheduler, 3 stores${o.compare ? ', 3 etcd members' : ''} and the load ` +
      `generator) share the same ${cores} cores.`,
  ];
}

/** The paragraph on the transaction workloads. */
function describeTxn(o: Pick<BenchOptions, 'compare' | 'etcdEndpoints'>, etcdDrivers: ('node' | 'go')[]): string {
  const to = o.etcdEndpoints === 'leader' ? 'leader' : 'members round-robin';
  const go =
    `driven by the harness's own Go driver (packages/bench/go/etcd-txn over clientv3, built from Debian's packages like the ` +
    `benchmark tool, whose \`stm\` command retries aborts; rows with "go" as driver; its CPU over the measured period is the ` +
    `"bench CPU%", and the etcd members' CPU is sampled over that period too)`;
  const node = 'driven by the Node loops over grpc-js (rows with "node" as driver)';
  const how = etcdDrivers.length === 2 ? `${go} or ${node}` : etcdDrivers[0] === 'go' ? go : node;
  const etcd = o.compare
    ? ` etcd: the STM pattern, one attempt, ${how}, connections to the ${to}: txn1 is a Txn of one put with no compare ` +
      `(a transaction that only writes has no read set: an STM has nothing to compare for it), txn4rmw one Txn of 4 Ranges ` +
      `(linearizable, one revision), then Txn{compare: mod_revision(k) = the revision read (0: absent) for each key; success: ` +
      `the 4 puts; failure: nothing}, a failed compare being an abort.`
    : '';
  return (
    'Transactions: txn1 writes one random key; txn4rmw reads 4 distinct random keys, then writes new values to them. Each ' +
    'request is one attempt: an abort is counted, not retried. tskv: each connection has a TxnClient besides its RawClient ' +
    '(its own region cache, streams and scheduler client); an attempt is begin (a start timestamp from the scheduler), a ' +
    'batchGet of the 4 keys (txn4rmw), the puts, commit (prewrite, a commit timestamp, commit of the primary key; the ' +
    'secondary keys are committed in the background, after the answer); WriteConflictError and TxnAbortedError are aborts, ' +
    'anything else an error. Transactions read MVCC keys apart from the raw ones, so before the runs the key space is also ' +
    `written transactionally (64 keys per transaction) with the row's value size.${etcd}`
  );
}
