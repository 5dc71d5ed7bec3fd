import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mulberry32 } from '@tskv/util';
import { Changer, describeChanges } from '../src/confchange/changer.js';
import { confStateEquivalent, restore } from '../src/confchange/restore.js';
import { ConfChangeError } from '../src/errors.js';
import { ProgressTracker } from '../src/tracker/tracker.js';
import { type ConfChangeSingle, ConfChangeType, type ConfState, newConfState } from '../src/types.js';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 1e9);

const add = (nodeId: number): ConfChangeSingle => ({ changeType: ConfChangeType.AddNode, nodeId });
const learner = (nodeId: number): ConfChangeSingle => ({ changeType: ConfChangeType.AddLearnerNode, nodeId });
const rm = (nodeId: number): ConfChangeSingle => ({ changeType: ConfChangeType.RemoveNode, nodeId });

type Op = (c: Changer) => ReturnType<Changer['simple']>;
const simple =
  (...ccs: ConfChangeSingle[]): Op =>
  (c) =>
    c.simple(ccs);
const enter =
  (autoLeave: boolean, ...ccs: ConfChangeSingle[]): Op =>
  (c) =>
    c.enterJoint(autoLeave, ccs);
const leave: Op = (c) => c.leaveJoint();

/** Applies op to tr (committing on success) and returns the thrown error, if any. */
function run(tr: ProgressTracker, lastIndex: number, op: Op): ConfChangeError | undefined {
  try {
    const [cfg, prs] = op(new Changer(tr, lastIndex));
    tr.applyConf(cfg, prs, lastIndex + 1);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof ConfChangeError, `unexpected error ${e}`);
    return e;
  }
}
function ok(tr: ProgressTracker, op: Op, lastIndex = 10): void {
  const e = run(tr, lastIndex, op);
  assert.equal(e, undefined, `unexpected ${e?.message}`);
  checkTracker(tr);
}
function fails(tr: ProgressTracker, op: Op, re: RegExp): void {
  const before = snapshot(tr);
  const e = run(tr, 10, op);
  assert.ok(e, `expected an error matching ${re}`);
  assert.match(e.message, re);
  assert.deepEqual(snapshot(tr), before, 'a failed change must not touch the tracker');
}
function cs(tr: ProgressTracker): string {
  const c = tr.confState();
  const j = (a: number[]): string => a.join(' ');
  return (
    `voters=(${j(c.voters)}) outgoing=(${j(c.votersOutgoing)}) learners=(${j(c.learners)}) next=(${j(c.learnersNext)}) ` +
    `autoLeave=${c.autoLeave}`
  );
}
/** A deep, comparable picture of the tracker's config and progress. */
function snapshot(tr: ProgressTracker): unknown {
  return {
    cs: tr.confState(),
    prs: [...tr.progress]
      .map(([id, p]) => [id, p.toString(), p.isLearner, p.nextIdx, p.matched])
      .sort((a, b) => Number(a[0]) - Number(b[0])),
  };
}
/** External check of the tracker invariants. */
function checkTracker(tr: ProgressTracker): void {
  const { voters, learners, learnersNext, autoLeave } = tr.config;
  const ids = new Set([...voters.ids(), ...learners]);
  assert.deepEqual([...tr.progress.keys()].sort(), [...ids].sort(), `progress keys vs config: ${cs(tr)}`);
  for (const id of learners) {
    assert.ok(!voters.contains(id), `learner ${id} is a voter: ${cs(tr)}`);
    assert.equal(tr.progress.get(id)!.isLearner, true, `learner ${id} not marked`);
  }
  for (const id of voters.ids()) assert.equal(tr.progress.get(id)!.isLearner, false, `voter ${id} marked learner`);
  for (const id of learnersNext) {
    assert.ok(voters.outgoing.contains(id) && !voters.incoming.contains(id), `bad learnersNext ${id}: ${cs(tr)}`);
  }
  if (!voters.isJoint()) {
    assert.equal(learnersNext.size, 0);
    assert.equal(autoLeave, false);
  }
}

test('simple changes build a config one voter at a time', () => {
  const tr = new ProgressTracker(256);
  ok(tr, simple(add(1)), 5);
  assert.equal(cs(tr), 'voters=(1) outgoing=() learners=() next=() autoLeave=false');
  const p1 = tr.get(1)!;
  assert.equal(p1.nextIdx, 6, 'new progress starts at lastIndex + 1');
  assert.equal(p1.recentActive, true, 'new progress is recently active');
  assert.equal(p1.ins.cap, 256);
  // Any number of learner changes plus one voter.
  ok(tr, simple(add(2), learner(3), learner(4)));
  assert.equal(cs(tr), 'voters=(1 2) outgoing=() learners=(3 4) next=() autoLeave=false');
  assert.equal(tr.get(1), p1, 'untouched progress is kept');
  assert.equal(tr.get(3)!.isLearner, true);
  // Two voters at once is not simple.
  fails(tr, simple(add(5), add(6)), /more than one voter changed without entering joint config/);
  // Promoting a learner counts as one voter change; its progress survives.
  tr.get(3)!.matched = 9;
  ok(tr, simple(add(3)));
  assert.equal(tr.get(3)!.matched, 9);
  assert.equal(tr.get(3)!.isLearner, false);
  // Demoting a voter.
  ok(tr, simple(learner(2)));
  assert.equal(cs(tr), 'voters=(1 3) outgoing=() learners=(2 4) next=() autoLeave=false');
  // Remove a learner and a voter.
  ok(tr, simple(rm(4), rm(3)));
  assert.equal(cs(tr), 'voters=(1) outgoing=() learners=(2) next=() autoLeave=false');
  assert.equal(tr.get(3), undefined);
  assert.equal(tr.get(4), undefined);
  // Removing something absent and node id 0 are no-ops.
  ok(tr, simple(rm(42), add(0)));
  assert.equal(cs(tr), 'voters=(1) outgoing=() learners=(2) next=() autoLeave=false');
  fails(tr, simple(rm(1)), /removed all voters/);
  fails(tr, simple(learner(1)), /removed all voters/);
  // Swapping a voter (remove + add) changes two voters.
  fails(tr, simple(rm(1), add(5)), /more than one voter changed/);
  fails(tr, leave, /can't leave a non-joint config/);
  fails(tr, simple({ changeType: 99 as ConfChangeType, nodeId: 3 }), /unexpected conf change type/);
});

test('learners only on an empty config are rejected', () => {
  fails(new ProgressTracker(10), simple(learner(1)), /removed all voters/);
  fails(new ProgressTracker(10), enter(false, add(1)), /can't make a zero-voter config joint/);
});

test('remove then re-add in one change gets fresh progress', () => {
  const tr = new ProgressTracker(10);
  ok(tr, simple(add(1)));
  ok(tr, simple(add(2)));
  tr.get(2)!.matched = 7;
  ok(tr, simple(rm(2), add(2)), 20);
  assert.equal(tr.get(2)!.matched, 0);
  assert.equal(tr.get(2)!.nextIdx, 21);
});

test('joint changes: enter, stage learners, leave', () => {
  const tr = new ProgressTracker(10);
  for (const id of [1, 2, 3]) ok(tr, simple(add(id)));
  ok(tr, simple(learner(7)));
  const p3 = tr.get(3)!;
  // Replace 3 with 4 and 5, demote 2, drop learner 7.
  ok(tr, enter(true, add(4), add(5), rm(3), learner(2), rm(7)));
  assert.equal(cs(tr), 'voters=(1 4 5) outgoing=(1 2 3) learners=() next=(2) autoLeave=true');
  assert.equal(tr.get(3), p3, 'outgoing voter keeps its progress');
  assert.equal(tr.get(2)!.isLearner, false, 'staged learner is still an outgoing voter');
  assert.equal(tr.get(7), undefined);
  assert.equal(tr.config.voters.isJoint(), true);

  fails(tr, enter(false, add(6)), /config is already joint/);
  fails(tr, simple(add(6)), /can't apply simple config change in joint config/);

  ok(tr, leave);
  assert.equal(cs(tr), 'voters=(1 4 5) outgoing=() learners=(2) next=() autoLeave=false');
  assert.equal(tr.get(2)!.isLearner, true);
  assert.equal(tr.get(3), undefined, 'removed voter is dropped on leave');
  fails(tr, leave, /can't leave a non-joint config/);
});

test('joint: re-adding a staged learner as voter unstages it; removing an outgoing voter keeps progress', () => {
  const tr = new ProgressTracker(10);
  for (const id of [1, 2, 3]) ok(tr, simple(add(id)));
  ok(tr, enter(false, learner(3), add(3), rm(2)));
  assert.equal(cs(tr), 'voters=(1 3) outgoing=(1 2 3) learners=() next=() autoLeave=false');
  assert.ok(tr.get(2));
  ok(tr, leave);
  assert.equal(cs(tr), 'voters=(1 3) outgoing=() learners=() next=() autoLeave=false');
  assert.equal(tr.get(2), undefined);
});

test('joint: new learner that is not an outgoing voter is added directly', () => {
  const tr = new ProgressTracker(10);
  for (const id of [1, 2]) ok(tr, simple(add(id)));
  ok(tr, enter(false, learner(9), learner(1)));
  assert.equal(cs(tr), 'voters=(2) outgoing=(1 2) learners=(9) next=(1) autoLeave=false');
  ok(tr, leave);
  assert.equal(cs(tr), 'voters=(2) outgoing=() learners=(1 9) next=() autoLeave=false');
});

test('the changer never mutates the tracker, even on success before commit', () => {
  const tr = new ProgressTracker(10);
  for (const id of [1, 2, 3]) ok(tr, simple(add(id)));
  ok(tr, simple(learner(4)));
  const before = snapshot(tr);
  const p2 = tr.get(2)!;
  const p4 = tr.get(4)!;
  const ch = new Changer(tr, 10);
  const [cfg, prs] = ch.enterJoint(false, [learner(2), add(4), rm(3), add(5)]);
  assert.deepEqual(snapshot(tr), before);
  assert.equal(p4.isLearner, true, 'promoted progress must be a copy');
  assert.notEqual(prs.get(4), p4);
  assert.equal(prs.get(4)!.isLearner, false);
  assert.equal(prs.get(2), p2, 'staged learner keeps the same object (flag unchanged)');
  assert.equal(cfg.voters.incoming.contains(3), false);
  assert.equal(tr.config.voters.incoming.contains(3), true);
  const [cfg2, prs2] = new Changer(tr, 10).simple([add(5)]);
  assert.deepEqual(snapshot(tr), before);
  assert.equal(tr.get(5), undefined);
  assert.ok(prs2.get(5));
  assert.equal(cfg2.voters.incoming.size, 4);
});

test('invalid tracker state is rejected', () => {
  const tr = new ProgressTracker(10);
  ok(tr, simple(add(1)));
  tr.config.learners.add(9); // no progress for 9
  fails(tr, simple(add(2)), /no progress for learner 9/);
});

test('random change sequences keep the invariants', () => {
  const rnd = mulberry32(SEED);
  const tr = new ProgressTracker(10);
  let okCount = 0;
  for (let step = 0; step < 3000; step++) {
    const ccs: ConfChangeSingle[] = [];
    const n = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < n; i++) {
      const id = 1 + Math.floor(rnd() * 7);
      const t = [ConfChangeType.AddNode, ConfChangeType.AddLearnerNode, ConfChangeType.RemoveNode][Math.floor(rnd() * 3)]!;
      ccs.push({ changeType: t, nodeId: id });
    }
    const r = rnd();
    const before = snapshot(tr);
    const beforeIncoming = new Set(tr.config.voters.incoming.ids);
    const wasJoint = tr.config.voters.isJoint();
    const op: Op = r < 0.5 ? simple(...ccs) : r < 0.8 ? enter(rnd() < 0.5, ...ccs) : leave;
    const e = run(tr, step, op);
    const msg = `seed=${SEED} step=${step} ${describeChanges(ccs)} -> ${cs(tr)}`;
    if (e) {
      assert.deepEqual(snapshot(tr), before, msg);
      continue;
    }
    okCount++;
    checkTracker(tr);
    assert.ok(tr.config.voters.incoming.size > 0, msg);
    if (r < 0.5) {
      assert.equal(wasJoint, false, msg);
      const diff =
        [...beforeIncoming].filter((x) => !tr.config.voters.incoming.contains(x)).length +
        [...tr.config.voters.incoming.ids].filter((x) => !beforeIncoming.has(x)).length;
      assert.ok(diff <= 1, msg);
    } else if (r < 0.8) {
      assert.deepEqual(new Set(tr.config.voters.outgoing.ids), beforeIncoming, msg);
    } else {
      assert.equal(tr.config.voters.isJoint(), false, msg);
    }
  }
  assert.ok(okCount > 300, `seed=${SEED}: too few successful changes (${okCount})`);
});

function randomConfState(rnd: () => number): ConfState {
  const pool = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const take = (max: number, min = 0): number[] => pool.splice(0, min + Math.floor(rnd() * (max - min + 1)));
  const voters = take(5, 1);
  if (rnd() < 0.5) return newConfState({ voters, learners: take(3) });
  // Joint: outgoing overlaps the incoming voters partially and brings its own ids.
  const outgoing = [...voters.filter(() => rnd() < 0.5), ...take(4, 1)];
  const onlyOutgoing = outgoing.filter((id) => !voters.includes(id));
  const learnersNext = onlyOutgoing.filter(() => rnd() < 0.4);
  return newConfState({ voters, votersOutgoing: outgoing, learners: take(3), learnersNext, autoLeave: rnd() < 0.5 });
}

test('restore round-trips random valid ConfStates', () => {
  const rnd = mulberry32(SEED);
  for (let i = 0; i < 500; i++) {
    const want = randomConfState(rnd);
    const tr = new ProgressTracker(16);
    // Pre-existing state must be replaced entirely.
    ok(tr, simple(add(99)));
    const msg = `seed=${SEED} iter=${i} ${JSON.stringify(want)}`;
    restore(tr, 41, want);
    const got = tr.confState();
    assert.ok(confStateEquivalent(got, want), `${msg} got ${JSON.stringify(got)}`);
    assert.deepEqual(
      got.voters,
      [...want.voters].sort((a, b) => a - b),
      `${msg}: confState() must be sorted`,
    );
    checkTracker(tr);
    assert.equal(tr.get(99), undefined, msg);
    for (const pr of tr.progress.values()) {
      assert.equal(pr.nextIdx, 42, msg);
      assert.equal(pr.ins.cap, 16, msg);
    }
  }
});

test('restore of an empty ConfState gives an empty config', () => {
  const tr = new ProgressTracker(16);
  ok(tr, simple(add(1)));
  restore(tr, 0, newConfState());
  assert.equal(tr.progress.size, 0);
  assert.equal(tr.config.voters.incoming.size, 0);
});

test('restore rejects invalid ConfStates and leaves the tracker alone', () => {
  const bad: [Partial<ConfState>, RegExp][] = [
    [{ learners: [1] }, /removed all voters/],
    [{ voters: [1, 2], learners: [2] }, /not a valid configuration/],
    [{ voters: [1, 1] }, /not a valid configuration/],
    [{ voters: [1], learnersNext: [2] }, /not a valid configuration/],
    [{ voters: [1], autoLeave: true }, /autoLeave must be false/],
    [{ voters: [1], votersOutgoing: [2], learnersNext: [1] }, /removed all voters/],
    [{ voters: [1, 3], votersOutgoing: [1, 2], learnersNext: [1] }, /not a valid configuration/],
    [{ voters: [1], votersOutgoing: [2], learners: [2] }, /not a valid configuration/],
    [{ voters: [], votersOutgoing: [2] }, /removed all voters/],
  ];
  for (const [fields, re] of bad) {
    const tr = new ProgressTracker(16);
    ok(tr, simple(add(7)));
    const before = snapshot(tr);
    assert.throws(
      () => restore(tr, 3, newConfState(fields)),
      (e: unknown) => e instanceof ConfChangeError && re.test(e.message),
      JSON.stringify(fields),
    );
    assert.deepEqual(snapshot(tr), before, JSON.stringify(fields));
  }
});

test('confStateEquivalent', () => {
  const a = newConfState({ voters: [3, 1, 2], learners: [5, 4], votersOutgoing: [2, 1], learnersNext: [1], autoLeave: true });
  assert.equal(
    confStateEquivalent(
      a,
      newConfState({ voters: [1, 2, 3], learners: [4, 5], votersOutgoing: [1, 2], learnersNext: [1], autoLeave: true }),
    ),
    true,
  );
  assert.equal(confStateEquivalent(a, { ...a, autoLeave: false }), false);
  assert.equal(confStateEquivalent(a, { ...a, voters: [1, 2] }), false);
  assert.equal(confStateEquivalent(a, { ...a, voters: [1, 2, 4] }), false);
  assert.equal(confStateEquivalent(a, { ...a, learners: [4, 5, 6] }), false);
  assert.equal(confStateEquivalent(a, { ...a, votersOutgoing: [1] }), false);
  assert.equal(confStateEquivalent(a, { ...a, learnersNext: [] }), false);
  assert.equal(confStateEquivalent(newConfState({ voters: [1, 1, 2] }), newConfState({ voters: [1, 2, 2] })), false);
  // Must not sort its inputs in place.
  assert.deepEqual(a.voters, [3, 1, 2]);
});

test('describeChanges', () => {
  assert.equal(describeChanges([add(1), learner(2), rm(3)]), 'AddNode(1) AddLearnerNode(2) RemoveNode(3)');
  assert.equal(describeChanges([]), '');
});
