import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Progress, ProgressState } from '../src/tracker/progress.js';

function newProgress(state: ProgressState, matched: number, nextIdx: number, pendingSnapshot = 0, insSize = 256): Progress {
  const p = new Progress(nextIdx, insSize);
  p.state = state;
  p.matched = matched;
  p.pendingSnapshot = pendingSnapshot;
  return p;
}

test('new progress defaults', () => {
  const p = new Progress(5, 10);
  assert.equal(p.state, ProgressState.Probe);
  assert.equal(p.nextIdx, 5);
  assert.equal(p.matched, 0);
  assert.equal(p.ins.cap, 10);
  assert.equal(p.recentActive, false);
  assert.equal(p.isLearner, false);
});

test('isPaused by state', () => {
  const cases: [ProgressState, boolean, boolean][] = [
    [ProgressState.Probe, false, false],
    [ProgressState.Probe, true, true],
    [ProgressState.Replicate, false, false],
    [ProgressState.Replicate, true, false],
    [ProgressState.Snapshot, false, true],
    [ProgressState.Snapshot, true, true],
  ];
  for (const [state, paused, want] of cases) {
    const p = newProgress(state, 0, 0);
    p.paused = paused;
    assert.equal(p.isPaused(), want, `${ProgressState[state]} paused=${paused}`);
  }
  // Replicate pauses when the inflight window is full.
  const p = newProgress(ProgressState.Replicate, 0, 1, 0, 2);
  p.updateState(1);
  assert.equal(p.isPaused(), false);
  p.updateState(2);
  assert.equal(p.isPaused(), true);
  assert.equal(p.nextIdx, 3);
});

test('maybeUpdate and maybeDecrTo resume a paused probe', () => {
  const p = new Progress(2, 256);
  p.paused = true;
  assert.equal(p.maybeDecrTo(1, 1, 0), true);
  assert.equal(p.paused, false);
  p.paused = true;
  assert.equal(p.maybeUpdate(2), true);
  assert.equal(p.paused, false);
});

test('becomeProbe', () => {
  const cases: [Progress, number][] = [
    [newProgress(ProgressState.Replicate, 1, 5), 2],
    // Snapshot delivered: probe after it.
    [newProgress(ProgressState.Snapshot, 1, 5, 10), 11],
    // Snapshot failed (pendingSnapshot cleared): probe after matched.
    [newProgress(ProgressState.Snapshot, 1, 5, 0), 2],
    // Matched overtook the snapshot.
    [newProgress(ProgressState.Snapshot, 20, 21, 10), 21],
  ];
  for (const [i, [p, wnext]] of cases.entries()) {
    const m = p.matched;
    p.paused = true;
    p.ins.add(7);
    p.becomeProbe();
    assert.equal(p.state, ProgressState.Probe, `#${i}`);
    assert.equal(p.matched, m, `#${i}`);
    assert.equal(p.nextIdx, wnext, `#${i}`);
    assert.equal(p.paused, false, `#${i}`);
    assert.equal(p.pendingSnapshot, 0, `#${i}`);
    assert.equal(p.ins.count, 0, `#${i}`);
  }
});

test('becomeReplicate / becomeSnapshot / snapshotFailure / isSnapshotCaughtUp', () => {
  const p = newProgress(ProgressState.Probe, 1, 5);
  p.becomeReplicate();
  assert.equal(p.state, ProgressState.Replicate);
  assert.equal(p.nextIdx, 2);

  const s = newProgress(ProgressState.Probe, 1, 5);
  s.becomeSnapshot(10);
  assert.equal(s.state, ProgressState.Snapshot);
  assert.equal(s.matched, 1);
  assert.equal(s.pendingSnapshot, 10);
  assert.equal(s.isSnapshotCaughtUp(), false);
  s.maybeUpdate(10);
  assert.equal(s.isSnapshotCaughtUp(), true);
  s.snapshotFailure();
  assert.equal(s.pendingSnapshot, 0);
  assert.throws(() => s.updateState(11));
});

test('maybeUpdate', () => {
  const [prevM, prevN] = [3, 5];
  const cases: [number, number, number, boolean][] = [
    [prevM - 1, prevM, prevN, false],
    [prevM, prevM, prevN, false],
    [prevM + 1, prevM + 1, prevN, true],
    [prevM + 2, prevM + 2, prevN + 1, true],
  ];
  for (const [update, wm, wn, wok] of cases) {
    const p = new Progress(prevN, 256);
    p.matched = prevM;
    assert.equal(p.maybeUpdate(update), wok, `update=${update}`);
    assert.equal(p.matched, wm, `update=${update}`);
    assert.equal(p.nextIdx, wn, `update=${update}`);
  }
});

test('maybeDecrTo without snapshot request', () => {
  // state, matched, next, rejected, matchHint, wantOk, wantNext
  const cases: [ProgressState, number, number, number, number, boolean, number][] = [
    // Replicate: rejection at or below matched is stale.
    [ProgressState.Replicate, 5, 10, 5, 5, false, 10],
    [ProgressState.Replicate, 5, 10, 4, 4, false, 10],
    // Replicate: real rejection falls back to matched+1.
    [ProgressState.Replicate, 5, 10, 9, 9, true, 6],
    // Probe: rejection must be for next-1.
    [ProgressState.Probe, 0, 0, 0, 0, false, 0],
    [ProgressState.Probe, 0, 10, 5, 5, false, 10],
    [ProgressState.Probe, 0, 10, 9, 9, true, 9],
    [ProgressState.Probe, 0, 2, 1, 1, true, 1],
    [ProgressState.Probe, 0, 1, 0, 0, true, 1],
    // Jump to min(rejected, hint+1).
    [ProgressState.Probe, 0, 10, 9, 2, true, 3],
    [ProgressState.Probe, 0, 10, 9, 0, true, 1],
    // Never below matched+1.
    [ProgressState.Probe, 5, 10, 9, 2, true, 6],
  ];
  for (const [i, [state, m, n, rejected, hint, wok, wn]] of cases.entries()) {
    const p = newProgress(state, m, n, 0, 0);
    assert.equal(p.maybeDecrTo(rejected, hint, 0), wok, `#${i}`);
    assert.equal(p.matched, m, `#${i}`);
    assert.equal(p.nextIdx, wn, `#${i}`);
    assert.equal(p.pendingRequestSnapshot, 0, `#${i}`);
  }
});

test('maybeDecrTo with snapshot request', () => {
  // Replicate: a request at matched is genuine; nextIdx unchanged; request recorded.
  const r = newProgress(ProgressState.Replicate, 5, 10);
  assert.equal(r.maybeDecrTo(5, 5, 7), true);
  assert.equal(r.nextIdx, 10);
  assert.equal(r.pendingRequestSnapshot, 7);
  // Replicate: below matched is still stale.
  const r2 = newProgress(ProgressState.Replicate, 5, 10);
  assert.equal(r2.maybeDecrTo(4, 4, 7), false);
  assert.equal(r2.pendingRequestSnapshot, 0);

  // Probe: never stale, does not move nextIdx, first request wins, resumes.
  const p = newProgress(ProgressState.Probe, 0, 10);
  p.paused = true;
  assert.equal(p.maybeDecrTo(3, 3, 8), true);
  assert.equal(p.nextIdx, 10);
  assert.equal(p.pendingRequestSnapshot, 8);
  assert.equal(p.paused, false);
  assert.equal(p.maybeDecrTo(9, 9, 12), true);
  assert.equal(p.pendingRequestSnapshot, 8);
});

test('updateState', () => {
  const r = newProgress(ProgressState.Replicate, 1, 2, 0, 4);
  r.updateState(5);
  assert.equal(r.nextIdx, 6);
  assert.equal(r.ins.count, 1);
  const p = newProgress(ProgressState.Probe, 1, 2);
  p.updateState(5);
  assert.equal(p.paused, true);
  assert.equal(p.nextIdx, 2);
});

test('reset, updateCommitted, clone, toString', () => {
  const p = newProgress(ProgressState.Replicate, 4, 9, 0, 8);
  p.ins.add(8);
  p.recentActive = true;
  p.pendingRequestSnapshot = 3;
  p.updateCommitted(7);
  p.updateCommitted(5);
  assert.equal(p.committedIndex, 7);

  const c = p.clone();
  c.ins.add(9);
  c.matched = 1;
  assert.equal(p.ins.count, 1, 'clone must not share inflights');
  assert.equal(p.matched, 4);
  assert.equal(c.committedIndex, 7);
  assert.equal(c.state, ProgressState.Replicate);
  assert.equal(c.pendingRequestSnapshot, 3);

  assert.match(p.toString(), /StateReplicate match=4 next=9/);

  p.reset(20);
  assert.equal(p.matched, 0);
  assert.equal(p.nextIdx, 20);
  assert.equal(p.state, ProgressState.Probe);
  assert.equal(p.pendingRequestSnapshot, 0);
  assert.equal(p.recentActive, false);
  assert.equal(p.ins.count, 0);
});
