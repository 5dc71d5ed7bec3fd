// lostPuts on small hand-made histories: a final read older than an acknowledged put is a lost
// write; one that a concurrent or unknown put explains is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lostPuts } from '../src/run.js';
import type { RecordedOp } from '../src/workload.js';

let id = 0;
const put = (key: string, value: string, call: number, ret: number, status: RecordedOp['status'] = 'ok'): RecordedOp => ({
  id: id++,
  clientId: 1,
  input: { kind: 'put', key, value },
  output: {},
  call,
  return: status === 'ok' ? ret : Infinity,
  status,
});
const finalGet = (key: string, value: string | null, at: number): RecordedOp => ({
  id: id++,
  clientId: 0,
  input: { kind: 'get', key },
  output: { value },
  call: at,
  return: at + 1,
  status: 'ok',
});

test('an older final value, or null, after an acknowledged put is reported with the lost puts', () => {
  const lost = lostPuts(
    [
      put('reg/1', 'a', 1000, 1010),
      put('reg/1', 'b', 2000, 2010),
      put('reg/2', 'c', 3000, 3005),
      finalGet('reg/1', 'a', 9000),
      finalGet('reg/2', null, 9000),
    ],
    0,
  );
  assert.deepEqual(lost, [
    'reg/1: final read "a" (put ok 1.000..1.010 s); lost acknowledged put "b" (ok 2.000..2.010 s)',
    'reg/2: final read null; lost acknowledged put "c" (ok 3.000..3.005 s)',
  ]);
});

test('the newest acknowledged value, a concurrent put, or an unknown put is no loss', () => {
  const ops = [
    put('reg/1', 'a', 1000, 1010),
    put('reg/1', 'b', 2000, 2010),
    finalGet('reg/1', 'b', 9000),
    // Overlapping puts: either may take effect last.
    put('reg/2', 'c', 1000, 3000),
    put('reg/2', 'd', 2000, 2500),
    finalGet('reg/2', 'c', 9000),
    // A put of unknown outcome may be the last one applied.
    put('reg/3', 'e', 1000, 1010),
    put('reg/3', 'f', 2000, 0, 'unknown'),
    finalGet('reg/3', 'f', 9000),
    // Never written, read as null.
    finalGet('reg/4', null, 9000),
  ];
  assert.deepEqual(lostPuts(ops, 0), []);
});
