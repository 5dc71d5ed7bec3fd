// The Grafana dashboard docs/grafana/tskv.json against what the real processes serve: every PromQL
// expression in it is parsed, and each metric it names must appear on the /metrics of a running
// store or the scheduler (a panel on a misspelt or removed metric stays empty without a word).
// Label names are checked too wherever the scrape holds a series of the metrics concerned.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { newTinyKvGrpcClient, unary } from '@tskv/rpc';
import { DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN, ProcessCluster, type UnexpectedExit } from '../src/index.js';

const DASHBOARD = fileURLToPath(new URL('../../../../docs/grafana/tskv.json', import.meta.url));
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's placeholder for the datasource input, replaced at import.
const DS_UID = '${DS_PROMETHEUS}';

// ---- PromQL: the metric and label names an expression refers to

type Tok = { k: 'id' | 'str' | 'num' | 'var' | 'op'; v: string };

function lex(expr: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < expr.length) {
    const rest = expr.slice(i);
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let s = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && c !== '`') j++;
        s += expr[j++];
      }
      if (j >= expr.length) throw new Error(`unterminated string at ${i} in ${expr}`);
      out.push({ k: 'str', v: s });
      i = j + 1;
    } else {
      // Grafana variables ($name, ${name}, ${name:format}), durations (1h30m), numbers, names.
      const m =
        /^\$(\{[^}]*\}|\w+)/.exec(rest) ??
        /^(\d+(ms|[smhdwy]))+/.exec(rest) ??
        /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)/.exec(rest) ??
        /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(rest) ??
        /^(==|!=|>=|<=|=~|!~|[-+*/%^<>=(){}[\],@])/.exec(rest);
      if (!m) throw new Error(`unexpected "${c}" at ${i} in ${expr}`);
      const v = m[0];
      const k = v.startsWith('$') ? 'var' : /^[\d.]/.test(v) ? 'num' : /^[a-zA-Z_:]/.test(v) ? 'id' : 'op';
      out.push({ k, v });
      i += v.length;
    }
  }
  return out;
}

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'offset', 'inf', 'nan']);
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

export interface PromRefs {
  metrics: Set<string>;
  /** Label names in matchers and in by/without/on/ignoring/group_left/group_right. */
  labels: Set<string>;
}

/** The metric and label names a PromQL expression refers to (function names and keywords aside). */
export function promRefs(expr: string): PromRefs {
  const t = lex(expr);
  const metrics = new Set<string>();
  const labels = new Set<string>();
  const expect = (i: number, what: (x: Tok) => boolean, desc: string): Tok => {
    const x = t[i];
    if (!x || !what(x)) throw new Error(`expected ${desc} at token ${i} ("${x?.v ?? 'end'}") in ${expr}`);
    return x;
  };
  // Reads `{label op "value", ...}` starting at the `{`; returns the index of the `}`.
  const matchers = (i: number): number => {
    i++;
    while (t[i]?.v !== '}') {
      const name = expect(i, (x) => x.k === 'id', 'a label name').v;
      const op = expect(i + 1, (x) => ['=', '!=', '=~', '!~'].includes(x.v), 'a matcher operator').v;
      const value = expect(i + 2, (x) => x.k === 'str', 'a quoted value').v;
      if (name === '__name__') {
        if (op === '=') metrics.add(value);
      } else labels.add(name);
      i += 3;
      if (t[i]?.v === ',') i++;
      else expect(i, (x) => x.v === '}', '"," or "}"');
    }
    return i;
  };
  for (let i = 0; i < t.length; i++) {
    const x = t[i]!;
    const next = t[i + 1];
    if (x.k === 'op' && x.v === '{') {
      i = matchers(i);
    } else if (x.k === 'op' && x.v === '[') {
      // A range or subquery: durations and Grafana's interval variables only.
      while (t[i] && t[i]!.v !== ']') i++;
      expect(i, (y) => y.v === ']', '"]"');
    } else if (x.k === 'id') {
      const w = x.v.toLowerCase();
      if (GROUPING.has(w)) {
        if (next?.v !== '(') continue; // group_left without a label list
        for (i += 2; t[i]?.v !== ')'; i++) {
          const y = expect(i, (z) => z.k === 'id' || z.v === ',', 'a label name');
          if (y.k === 'id') labels.add(y.v);
        }
      } else if (KEYWORDS.has(w) || next?.v === '(' || (AGGREGATIONS.has(w) && next && GROUPING.has(next.v.toLowerCase()))) {
        // an operator, a function call or `sum by (...) (...)`
      } else {
        metrics.add(x.v);
        if (next?.v === '{') i = matchers(i + 1);
      }
    }
  }
  return { metrics, labels };
}

// ---- The dashboard's queries

interface Query {
  where: string;
  refs: PromRefs;
}

// biome-ignore lint/suspicious/noExplicitAny: dashboard JSON, checked field by field below.
type Json = any;

function allPanels(dash: Json): Json[] {
  const out: Json[] = [];
  for (const p of dash.panels ?? []) {
    out.push(p);
    for (const q of p.panels ?? []) out.push(q); // a collapsed row holds its panels
  }
  return out;
}

/** Every PromQL expression of the dashboard: panel targets and templating queries. */
function dashboardQueries(dash: Json): Query[] {
  const out: Query[] = [];
  for (const p of allPanels(dash)) {
    for (const tg of p.targets ?? []) {
      assert.equal(typeof tg.expr, 'string', `panel "${p.title}" target ${tg.refId}: a PromQL expr`);
      out.push({ where: `panel "${p.title}" (${tg.refId})`, refs: promRefs(tg.expr) });
    }
  }
  for (const v of dash.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q: string = typeof v.query === 'string' ? v.query : v.query.query;
    const where = `variable $${v.name}`;
    // Grafana's own query functions around PromQL.
    const lv = /^label_values\((?:(.*),)?\s*(\w+)\s*\)$/.exec(q);
    const qr = /^query_result\((.*)\)$/.exec(q);
    if (lv) {
      const refs = promRefs(lv[1] ?? '');
      refs.labels.add(lv[2]!);
      out.push({ where, refs });
    } else out.push({ where, refs: promRefs(qr ? qr[1]! : q) });
  }
  return out;
}

// ---- What the processes serve

/** Series name -> how many samples the scrapes held, and the label names on them. */
type Exported = Map<string, { samples: number; labels: Set<string> }>;

/** The series names of a Prometheus text exposition (a histogram's _bucket, _sum, _count, ...). */
function addExposition(text: string, into: Exported): void {
  for (const line of text.split('\n')) {
    const ty = /^# TYPE (\S+) (\S+)/.exec(line);
    if (ty) {
      const suffixes = ty[2] === 'histogram' ? ['_bucket', '_sum', '_count'] : ty[2] === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const s of suffixes) if (!into.has(ty[1]! + s)) into.set(ty[1]! + s, { samples: 0, labels: new Set() });
      continue;
    }
    if (line.startsWith('#') || !line.trim()) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const series = into.get(m[1]!);
    assert.ok(series, `sample ${m[1]} follows its # TYPE line`);
    series.samples++;
    for (const l of (m[3] ?? '').matchAll(/([a-zA-Z_]\w*)="(?:[^"\\]|\\.)*"/g)) series.labels.add(l[1]!);
  }
}

/** Series Prometheus adds to every scrape target. */
const PROMETHEUS_SERIES = ['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling'];
/** Labels Prometheus attaches to every scraped series. */
const TARGET_LABELS = ['instance', 'job'];

interface Verdict {
  problems: string[];
  /** Queries whose label names could not be checked: no series of their metrics yet. */
  labelsUnchecked: string[];
}

function checkQueries(queries: Query[], exported: Exported): Verdict {
  const problems: string[] = [];
  const labelsUnchecked: string[] = [];
  for (const { where, refs } of queries) {
    if (refs.metrics.size === 0) problems.push(`${where}: names no metric`);
    const seen = new Set(TARGET_LABELS);
    let known = true;
    for (const m of refs.metrics) {
      if (PROMETHEUS_SERIES.includes(m)) continue;
      const series = exported.get(m);
      if (!series) {
        const hint = exported.has(`${m}_bucket`) ? ` (a histogram: query ${m}_bucket, _sum or _count)` : '';
        problems.push(`${where}: ${m} is exported by no store nor the scheduler${hint}`);
      } else if (series.samples === 0) known = false;
      else for (const l of series.labels) seen.add(l);
    }
    if (problems.some((p) => p.startsWith(`${where}: `))) continue; // label names of a missing metric say nothing more
    if (!known) {
      labelsUnchecked.push(where);
      continue;
    }
    for (const l of refs.labels) {
      if (!seen.has(l)) problems.push(`${where}: label "${l}" is on none of ${[...refs.metrics].join(', ')}`);
    }
  }
  return { problems, labelsUnchecked };
}

// ---- The tests

test('promRefs: metric and label names out of PromQL, functions, keywords and variables aside', () => {
  const r = promRefs(
    'histogram_quantile(0.99, sum by (le, method) (rate(tskv_client_request_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))',
  );
  assert.deepEqual([...r.metrics], ['tskv_client_request_duration_seconds_bucket']);
  assert.deepEqual([...r.labels].sort(), ['instance', 'le', 'method']);
  const s = promRefs(
    '(time() - a_total{x="1", y!~"b}c"} / 1000) and on (instance) group_left (job) (b:rec > 0) or vector(0) ' +
      'unless sum(rate({__name__="c", z="q"}[5m:1m] offset 1h30m)) without (w) + max by(v)(d @ start())',
  );
  assert.deepEqual([...s.metrics].sort(), ['a_total', 'b:rec', 'c', 'd']);
  assert.deepEqual([...s.labels].sort(), ['instance', 'job', 'v', 'w', 'x', 'y', 'z']);
  assert.throws(() => promRefs('rate(x{instance="a}[5m])'), /unterminated/);
  assert.throws(() => promRefs('x{instance}'), /matcher operator/);
});

test('the dashboard imports anywhere: a Prometheus datasource input, used by every panel, target and variable', () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const input = (dash.__inputs ?? []).find((i: Json) => i.name === 'DS_PROMETHEUS');
  assert.ok(input, '__inputs names DS_PROMETHEUS');
  assert.equal(input.type, 'datasource');
  assert.equal(input.pluginId, 'prometheus');
  assert.equal(dash.id, null, 'no database id: Grafana assigns one at import');
  assert.ok(dash.uid && dash.title && Number.isInteger(dash.schemaVersion));
  const ids = new Set<number>();
  let withQueries = 0;
  for (const p of allPanels(dash)) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} is unique`);
    ids.add(p.id);
    assert.ok(p.gridPos && p.gridPos.w > 0 && p.gridPos.h > 0, `panel "${p.title}" has a place`);
    if (p.type === 'row') continue;
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: DS_UID }, `panel "${p.title}" datasource`);
    assert.ok(p.targets?.length > 0, `panel "${p.title}" has queries`);
    for (const tg of p.targets) {
      if (tg.datasource) assert.deepEqual(tg.datasource, { type: 'prometheus', uid: DS_UID }, `panel "${p.title}" ${tg.refId}`);
    }
    withQueries++;
  }
  assert.ok(withQueries >= 30, `${withQueries} panels`);
  for (const v of dash.templating?.list ?? []) {
    if (v.type === 'query') assert.deepEqual(v.datasource, { type: 'prometheus', uid: DS_UID }, `variable $${v.name}`);
  }
});

const missing = [DEFAULT_SCHEDULER_BIN, DEFAULT_SERVER_BIN].filter((f) => !existsSync(f));
const skip = missing.length ? `not built yet: ${missing.join(', ')}` : false;

async function scrape(statusAddr: string): Promise<string> {
  const r = await fetch(`http://${statusAddr}/metrics`);
  assert.equal(r.status, 200, `GET ${statusAddr}/metrics`);
  return r.text();
}

/** Sum of one series over the scrapes, over the samples whose labels include `labels`. */
function sumOf(texts: string[], name: string, labels = ''): number {
  let sum = 0;
  for (const text of texts)
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][\w:]*)(\{.*\})? (\S+)$/.exec(line);
      if (m?.[1] === name && (m[2] ?? '').includes(labels)) sum += Number(m[3]);
    }
  return sum;
}

test('every metric and label the dashboard queries is served by the scheduler or a store (real processes)', {
  skip,
  timeout: 180_000,
}, async (t) => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
  const queries = dashboardQueries(dash);
  const dir = mkdtempSync(join(tmpdir(), 'tskv-grafana-'));
  const c = new ProcessCluster({ dataDir: dir, schedulerPort: 0, basePort: 0, stopTimeoutMs: 10_000 });
  const unexpected: UnexpectedExit[] = [];
  c.on('unexpected-exit', (e) => unexpected.push(e));
  try {
    await c.start();
    await c.waitUntilReady({ timeoutMs: 60_000 });

    // Traffic, so that the labelled series (methods, region errors, request errors) exist.
    const client = await c.client({ timeoutMs: 20_000 });
    try {
      await client.put('hello', 'world');
      await client.batchPut(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`] as const));
      assert.equal(Buffer.from((await client.get('hello')) ?? []).toString(), 'world');
      await client.scan('k', 'l');
      await client.delete('k0');
      await assert.rejects(client.put('x'.repeat(9 * 1024), 'v'), 'a key over maxKeyBytes is refused');
    } finally {
      client.close();
    }
    const store = newTinyKvGrpcClient(c.addresses.stores[0]!.addr);
    try {
      const res = await unary<object, { regionError?: { regionNotFound?: object } }>(
        store,
        store.rawGet,
        { context: { regionId: 999_999, regionEpoch: { confVer: 1, version: 1 } }, key: Buffer.from('hello') },
        10_000,
      );
      assert.ok(res.regionError?.regionNotFound, 'a region the store does not have: region_not_found');
    } finally {
      store.close();
    }

    const addrs = [c.addresses.schedulerStatus, ...c.addresses.stores.map((s) => s.statusAddr)];
    // New replicas are filled by snapshots: wait until both followers applied theirs.
    let texts: string[] = [];
    for (const deadline = Date.now() + 30_000; ; ) {
      texts = await Promise.all(addrs.map(scrape));
      if (sumOf(texts, 'tskv_snapshots_applied', 'result="ok"') >= 2 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const storeTexts = texts.slice(1);
    assert.ok(sumOf(storeTexts, 'tskv_snapshots_generated') >= 1, 'the leader generated a snapshot for the new replicas');
    assert.ok(sumOf(storeTexts, 'tskv_snapshots_applied', 'result="ok"') >= 2, 'each new replica applied one');
    assert.equal(sumOf(storeTexts, 'tskv_snapshots_applied', 'result="failed"'), 0);
    assert.ok(sumOf(storeTexts, 'tskv_snapshot_bytes_received') > 0, 'snapshot bytes received');

    const exported: Exported = new Map();
    for (const text of texts) addExposition(text, exported);
    const v = checkQueries(queries, exported);
    assert.deepEqual(v.problems, [], 'the dashboard queries only what the processes serve');
    t.diagnostic(`${queries.length} queries checked against ${exported.size} series names`);
    t.diagnostic(`labels not checkable yet (no series of their metrics in this run): ${v.labelsUnchecked.join('; ') || 'none'}`);
    assert.ok(v.labelsUnchecked.length <= queries.length / 4, 'most queries had their labels checked');

    // The check fails on a metric or a label nobody serves.
    const bad = JSON.parse(
      JSON.stringify(dash)
        .replace('tskv_leaders{', 'tskv_leader_count{')
        .replace('sum by (method) (rate(tskv_client_requests_total', 'sum by (methd) (rate(tskv_client_requests_total'),
    );
    assert.deepEqual(
      checkQueries(dashboardQueries(bad), exported).problems.map((p) => p.replace(/^panel "[^"]*" \(\w\): /, '')),
      ['label "methd" is on none of tskv_client_requests_total', 'tskv_leader_count is exported by no store nor the scheduler'],
    );
    assert.deepEqual(
      unexpected.map((e) => `${e.info.name}: ${e.logTail}`),
      [],
    );
  } finally {
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
