// A 200 MB region snapshots (generate, transfer, apply) in bounded memory. Runs the snapshot
// benchmark script in a fresh process, so the RSS it reports is its own and nothing else's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const script = join(dirname(fileURLToPath(import.meta.url)), '..', 'bench', 'snapshot.js');

// What is asserted is the process's anonymous memory (RssAnon: JS heap, buffers, LevelDB's
// memtables and caches: everything the snapshot code could pile up). Total RSS also counts
// file-backed pages: the node binary (~40 MB) and LevelDB's memory-mapped table files, which
// LevelDB maps for every table it reads (generation reads the whole region) and the kernel
// reclaims at will; the script prints it and docs/benchmarks.md records it.
test('a 200 MB region snapshots with peak memory (anonymous RSS) under 150 MB', { timeout: 300_000 }, async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, '--mb', '200', '--json'], { maxBuffer: 1 << 20 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as { records: number; recordsApplied: number; fileMb: number; peakRssMb: number; peakAnonMb: number };
  console.log(`200 MB snapshot: ${JSON.stringify(r)}`);
  assert.equal(r.recordsApplied, r.records, 'records lost between generate and apply');
  assert.ok(r.fileMb >= 190, `the snapshot files hold only ${r.fileMb} MB: the region was not 200 MB`);
  assert.ok(r.peakAnonMb < 150, `peak anonymous RSS ${r.peakAnonMb} MB during generate/transfer/apply (total RSS ${r.peakRssMb} MB)`);
});
