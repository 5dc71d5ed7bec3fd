// A 200 MB region snapshots (generate, transfer, apply) in bounded memory. Runs the snapshot
// benchmark script in a fresh process, so the RSS it reports is its own and nothing else's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'snapshot.js');

test('a 200 MB region snapshots with peak RSS under 150 MB', { timeout: 300_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--mb', '200', '--json'], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { records: number; recordsApplied: number; fileMb: number; peakRssMb: number };
  console.log(`200 MB snapshot: ${JSON.stringify(r)}`);
  assert.equal(r.recordsApplied, r.records, 'records lost between generate and apply');
  assert.ok(r.fileMb >= 190, `the snapshot files hold only ${r.fileMb} MB: the region was not 200 MB`);
  assert.ok(r.peakRssMb < 150, `peak RSS ${r.peakRssMb} MB during generate/transfer/apply`);
});
