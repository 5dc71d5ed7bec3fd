// The human-readable report of a run (the JSON form is the ChaosReport itself).

import type { LatencySummary } from './latency.js';
import type { ChaosReport } from './run.js';

const lat = (l: LatencySummary): string =>
  l.count === 0 ? 'none' : `${l.count} ops, p50 ${l.p50} ms, p99 ${l.p99} ms, p999 ${l.p999} ms, max ${l.max} ms`;

export function formatReport(r: ChaosReport): string {
  const lines: string[] = [];
  const o = r.options;
  lines.push(
    `chaos run, seed ${r.seed}: ${o.stores} stores, ${o.clients} clients, ` +
      `${o.workload === 'register' ? `${o.registers} registers, ${o.sets} sets` : `${o.workload} workload`}, ` +
      `${(o.durationMs / 1000).toFixed(0)} s, reads by ` +
      `${o.readMode}${o.retryAmbiguousWrites ? ', clients RETRY writes of unknown outcome' : ''}`,
  );
  const growth = o.newKeysPerSec > 0 ? `, ${o.newKeysPerSec} new keys/s` : '';
  const padded = o.valueBytes > 0 ? `, values of ${o.valueBytes} B` : '';
  lines.push(
    `regions: split size ${o.regionSplitSize > 0 ? `${o.regionSplitSize} B` : 'the store default'}${growth}${padded}, ` +
      `raft-log GC ${o.raftLogGc}; ${r.regions} regions at the end`,
  );
  lines.push(`fault schedule (${r.faults.length} faults):`);
  for (const f of r.faults)
    lines.push(
      `  ${(f.start / 1000).toFixed(1).padStart(6)} s .. ${(f.end / 1000).toFixed(1).padStart(6)} s  ${f.kind.padEnd(14)} ${f.detail}`,
    );
  lines.push(`operations: ${r.ops.total} (ok ${r.ops.ok}, unknown ${r.ops.unknown}, failed ${r.ops.failed})`);
  for (const [k, c] of Object.entries(r.ops.byKind)) lines.push(`  ${k.padEnd(7)} ok ${c.ok}, unknown ${c.unknown}, failed ${c.failed}`);
  lines.push(`latency, no fault active: ${lat(r.latency.quiet)}`);
  lines.push(`latency, under a fault:   ${lat(r.latency.underFaults)}`);
  lines.push(
    `recovery after the last fault: ${r.recovery.ok ? `${r.recovery.ms} ms` : `FAILED after ${r.recovery.ms} ms: ${r.recovery.error}`}`,
  );
  lines.push(`crashes: ${r.crashes.length === 0 ? 'none' : r.crashes.join('; ')}`);
  const lostList = `${r.lostWrites.slice(0, 10).join(', ')}${r.lostWrites.length > 10 ? ', ...' : ''}`;
  lines.push(`acknowledged writes lost: ${r.lostWrites.length}${r.lostWrites.length ? ` (${lostList})` : ''}`);
  for (const m of r.verdict.models) {
    lines.push(`linearizability, ${m.model} model: ${m.verdict.toUpperCase()} (${m.ops} ops, ${m.elapsedMs} ms)`);
    if (m.failure) {
      const ex = m.failure.explanation.length > 2000 ? `${m.failure.explanation.slice(0, 2000)} ...` : m.failure.explanation;
      lines.push(`  failing key ${m.failure.partition} (${m.failure.ops} ops); ${ex}`);
      lines.push('  smallest failing history found:');
      // Set reads can list hundreds of elements: the text keeps the start of each line (the
      // JSON report and history.json have everything).
      for (const l of m.failure.minimal.split('\n')) lines.push(`    ${l.length > 400 ? `${l.slice(0, 400)} ... (${l.length} chars)` : l}`);
    }
  }
  if (r.txn) {
    const t = r.txn;
    lines.push(`${t.kind} transactions: ok ${t.txns.ok}, failed ${t.txns.fail}, unknown ${t.txns.unknown}; ${t.summary}`);
    lines.push(`${t.kind} check: ${t.valid ? 'VALID' : 'INVALID'}`);
    for (const a of t.anomalies.slice(0, 10)) lines.push(`  ${a.length > 1000 ? `${a.slice(0, 1000)} ...` : a}`);
  }
  lines.push(
    `verdict: ${r.ok ? 'PASS' : 'FAIL'} (${(r.elapsedMs / 1000).toFixed(0)} s)${r.ok ? '' : `; data and logs kept in ${r.dataDir}`}`,
  );
  return lines.join('\n');
}
