#!/usr/bin/env node
// Runs every TinyKV-named scenario (dist/test/{scenarios,snapshot_scenarios,confchange_scenarios,
// split_scenarios}.test.js) N times (default 5), each scenario in its own `node --test` process so
// that one failure doesn't hide the others, and prints a table of passes/failures with the seeds
// of the failed runs (replay with TEST_SEED=<seed>).
//   node scripts/repeat.mjs [N] [name-regex]     e.g. node scripts/repeat.mjs 3 '^Persist'
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = ['scenarios', 'snapshot_scenarios', 'confchange_scenarios', 'split_scenarios'].map((f) =>
  join(root, 'dist', 'test', `${f}.test.js`),
);
const n = Number(process.argv[2] ?? 5);
const only = process.argv[3] ? new RegExp(process.argv[3]) : null;
if (!Number.isInteger(n) || n < 1) {
  console.error('usage: node scripts/repeat.mjs [N] [name-regex]');
  process.exit(2);
}

/** Scenario name -> the compiled test file that has it. */
const fileOf = new Map();
for (const file of files) {
  let src;
  try {
    src = readFileSync(file, 'utf8');
  } catch {
    console.error(`${file} not found: build first (npm run build)`);
    process.exit(2);
  }
  for (const m of src.matchAll(/^test\('([A-Za-z]+)'/gm)) if (!only || only.test(m[1])) fileOf.set(m[1], file);
}
const names = [...fileOf.keys()];
const results = new Map(names.map((s) => [s, { pass: 0, fail: 0, ms: [], failedSeeds: [] }]));

for (let i = 1; i <= n; i++) {
  for (const name of names) {
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', `--test-name-pattern=^${name}$`, fileOf.get(name)], {
      encoding: 'utf8',
      env: process.env,
      maxBuffer: 256 * 1024 * 1024,
    });
    const ms = Date.now() - t0;
    const res = results.get(name);
    res.ms.push(ms);
    const seed = /seed=(\d+)/.exec(r.stdout ?? '')?.[1] ?? '?';
    if (r.status === 0) {
      res.pass++;
      console.log(`run ${i}/${n} ${name}: pass in ${(ms / 1000).toFixed(1)} s (seed ${seed})`);
    } else {
      res.fail++;
      res.failedSeeds.push(seed);
      console.log(`run ${i}/${n} ${name}: FAIL in ${(ms / 1000).toFixed(1)} s (seed ${seed})`);
      console.log(
        (r.stdout ?? '')
          .split('\n')
          .filter((l) => /not ok|Error|error|fail/i.test(l))
          .slice(0, 20)
          .join('\n'),
      );
    }
  }
}

console.log('\nscenario                                  pass  fail  avg s  failed seeds');
let failures = 0;
for (const [name, r] of results) {
  failures += r.fail;
  const avg = r.ms.reduce((a, b) => a + b, 0) / r.ms.length / 1000;
  console.log(
    `${name.padEnd(40)}  ${String(r.pass).padStart(4)}  ${String(r.fail).padStart(4)}  ${avg.toFixed(1).padStart(5)}  ` +
      `${r.failedSeeds.join(' ')}`,
  );
}
process.exit(failures > 0 ? 1 : 0);
