import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeySpace, keyOf, pickBatch } from '../src/keyspace.js';
import { DOCS_HEADING, replaceSection, table } from '../src/report.js';

test('keys sort in index order; region key ranges map to index ranges', () => {
  const ks = new KeySpace(1000);
  assert.equal(Buffer.from(keyOf(42)).toString(), 'bench/00000042');
  assert.equal(ks.lowerBound(keyOf(500)), 500);
  assert.equal(ks.lowerBound(Buffer.from('bench/00000500x')), 501);
  assert.equal(ks.lowerBound(Buffer.from('a')), 0);
  assert.equal(ks.lowerBound(Buffer.from('z')), 1000);
  const e = new Uint8Array(0);
  const ranges = ks.rangesOf([
    { startKey: keyOf(300), endKey: e },
    { startKey: e, endKey: Buffer.from('b') }, // holds no benchmark key
    { startKey: Buffer.from('b'), endKey: keyOf(300) },
  ]);
  assert.deepEqual(ranges, [
    { lo: 0, hi: 300 },
    { lo: 300, hi: 1000 },
  ]);
  assert.deepEqual(ks.rangesOf([]), [{ lo: 0, hi: 1000 }]);
  assert.equal(ks.values(100).length, 16);
  assert.equal(ks.values(100)[0]!.length, 100);
});

test('pickBatch stays inside one range when it can', () => {
  const ranges = [
    { lo: 0, hi: 100 },
    { lo: 100, hi: 110 },
    { lo: 110, hi: 1000 },
  ];
  let seed = 1;
  const rnd = (): number => {
    seed = (seed * 16807) % 2147483647;
    return (seed - 1) / 2147483646;
  };
  for (let i = 0; i < 2000; i++) {
    const b = pickBatch(ranges, 64, 1000, rnd);
    assert.equal(b.length, 64);
    for (let j = 1; j < 64; j++) assert.equal(b[j], (b[0]! + j) % 1000);
    const r = ranges.find((x) => b[0]! >= x.lo && b[0]! < x.hi)!;
    if (r.hi - r.lo >= 64) assert.ok(b[63]! < r.hi, 'inside its range');
    else assert.equal(b[0], r.lo, 'a small range: from its start on');
  }
  assert.deepEqual(pickBatch([{ lo: 990, hi: 1000 }], 12, 1000, () => 0).slice(9), [999, 0, 1]);
});

test('replaceSection replaces the section up to the next ## heading, or appends it', () => {
  const doc = '# Benchmarks\n\nintro\n\n## A\n\na\n';
  const s1 = `${DOCS_HEADING}\n\nfirst\n`;
  const d1 = replaceSection(doc, s1);
  assert.equal(d1, `# Benchmarks\n\nintro\n\n## A\n\na\n\n${DOCS_HEADING}\n\nfirst\n`);
  const d2 = replaceSection(d1, `${DOCS_HEADING}\n\nsecond\n`);
  assert.equal(d2, d1.replace('first', 'second'));
  assert.equal(d2.split(DOCS_HEADING).length, 2, 'one section only');
  const middle = replaceSection(`${d1}\n## B\n\nb\n`, `${DOCS_HEADING}\n\nthird\n`);
  assert.equal(middle, `# Benchmarks\n\nintro\n\n## A\n\na\n\n${DOCS_HEADING}\n\nthird\n\n## B\n\nb\n`);
});

test('table: aligned Markdown', () => {
  const t = table(
    ['name', 'n'],
    [
      ['a', '1'],
      ['long name', '1,000'],
    ],
    [false, true],
  );
  assert.equal(t, ['| name      |     n |', '|-----------|------:|', '| a         |     1 |', '| long name | 1,000 |'].join('\n'));
});
