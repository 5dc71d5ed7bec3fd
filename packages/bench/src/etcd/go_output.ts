// Parses what etcd's own benchmark tool (go.etcd.io/etcd/tools/benchmark, its pkg/report) prints
// on stdout: a progress bar (carriage returns), then, with --precise (%g numbers):
//
//   Summary:
//     Total:	0.595751035 secs.
//     Slowest: / Fastest: / Average: / Stddev:	... secs.
//     Requests/sec:	3357.1070505987454
//   Response time histogram: (10 buckets, ignored)
//   Latency distribution:
//     10% in 0.000603799 secs.   ... 25, 50, 75, 90, 95, 99, 99.9 (a line is missing when too few requests)
//   Error distribution: (only with errors)
//     [20]	etcdserver: too many operations in txn request
//
// Requests/sec counts successful requests only, over Total (from the first request to the last
// answer); failed ones are in the error distribution. Percentiles are the tool's (nearest rank
// over every latency).

export interface GoBenchSummary {
  totalS: number;
  requestsPerSec: number;
  /** Successful requests (Requests/sec × Total, rounded). */
  requests: number;
  /** Milliseconds. */
  slowestMs: number;
  fastestMs: number;
  averageMs: number;
  stddevMs: number;
  /** Percentile ("50", "99.9", ...) → milliseconds. */
  percentilesMs: Record<string, number>;
  errors: number;
  errorKinds: { count: number; message: string }[];
}

const NUM = '([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?|NaN|[-+]?Inf)';
const SECS = new RegExp(`^\\s*(Total|Slowest|Fastest|Average|Stddev):\\s*${NUM} secs\\.?\\s*$`);
const RPS = new RegExp(`^\\s*Requests/sec:\\s*${NUM}\\s*$`);
const PCT = new RegExp(`^\\s*(\\d+(?:\\.\\d+)?)% in ${NUM} secs\\.?\\s*$`);
const ERR = /^\s*\[(\d+)\]\s+(.*)$/;

function num(s: string): number {
  if (/^[-+]?Inf$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  return Number(s);
}

export function parseGoBenchmark(text: string): GoBenchSummary {
  const out: GoBenchSummary = {
    totalS: NaN,
    requestsPerSec: NaN,
    requests: 0,
    slowestMs: NaN,
    fastestMs: NaN,
    averageMs: NaN,
    stddevMs: NaN,
    percentilesMs: {},
    errors: 0,
    errorKinds: [],
  };
  let section: 'none' | 'summary' | 'histogram' | 'latency' | 'errors' = 'none';
  let summary = false;
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trimEnd();
    const head = line.trim();
    if (head === 'Summary:') {
      section = 'summary';
      summary = true;
      continue;
    }
    if (head === 'Response time histogram:') section = 'histogram';
    else if (head === 'Latency distribution:') section = 'latency';
    else if (head === 'Error distribution:') section = 'errors';
    else if (section === 'summary') {
      const s = SECS.exec(line);
      if (s) {
        const v = num(s[2]!);
        if (s[1] === 'Total') out.totalS = v;
        else if (s[1] === 'Slowest') out.slowestMs = v * 1000;
        else if (s[1] === 'Fastest') out.fastestMs = v * 1000;
        else if (s[1] === 'Average') out.averageMs = v * 1000;
        else out.stddevMs = v * 1000;
      }
      const r = RPS.exec(line);
      if (r) out.requestsPerSec = num(r[1]!);
    } else if (section === 'latency') {
      const p = PCT.exec(line);
      if (p) out.percentilesMs[p[1]!] = num(p[2]!) * 1000;
    } else if (section === 'errors') {
      const e = ERR.exec(line);
      if (e) {
        const count = Number(e[1]);
        out.errors += count;
        out.errorKinds.push({ count, message: e[2]!.trim() });
      }
    }
  }
  if (!summary && out.errorKinds.length === 0) throw new Error('etcd benchmark tool: no summary in its output');
  if (summary && !(Number.isFinite(out.totalS) && Number.isFinite(out.requestsPerSec)))
    throw new Error('etcd benchmark tool: summary without Total or Requests/sec');
  out.requests = summary ? Math.round(out.requestsPerSec * out.totalS) : 0;
  return out;
}

/** bash's `times` output: the second line is the children's user and system time; their sum in ms. */
export function parseBashTimes(text: string): number {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const m = /^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? '');
  if (!m || lines.length < 2) return NaN;
  return (Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4])) * 1000;
}
