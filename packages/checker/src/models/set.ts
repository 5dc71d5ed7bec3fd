// A set per key built from element appends: append key element, read key -> all elements. The
// store keeps a list as one store key per element and reads it with a range scan, so a read is
// compared as a set of strings (order and duplicates ignored). Partitioned by key.
import { partitionBy } from '../history.js';
import type { Model, Operation } from '../types.js';
import { fnv1a, mix32 } from './hash.js';

export type SetInput = { kind: 'append'; key: string; element: string } | { kind: 'read'; key: string };

/** A read's result. An append's output is an acknowledgement and ignored. */
export interface SetOutput {
  elements?: string[];
}

/**
 * An immutable set as a persistent cons list of its elements (most recent first), so an append
 * is O(1) allocation and old states on the search stack stay valid. `size` and the XOR
 * fingerprint (h1, h2) of the members are carried along; the empty set is the node with
 * element null.
 */
export interface SetState {
  readonly element: string | null;
  readonly rest: SetState | null;
  readonly size: number;
  readonly h1: number;
  readonly h2: number;
}

export type SetOp = Operation<SetInput, SetOutput>;

const EMPTY: SetState = { element: null, rest: null, size: 0, h1: 0, h2: 0 };

function elementsOf(state: SetState): string[] {
  const out: string[] = [];
  for (let n: SetState | null = state; n !== null && n.element !== null; n = n.rest) out.push(n.element);
  return out.sort();
}

/**
 * Membership in O(1) amortized: one mutable Set holds the members of one state node (the
 * cursor); to ask about another node the cursor walks to it through their common ancestor,
 * deleting the elements it leaves and adding the ones it enters. The search moves one append at
 * a time (push: a child; backtrack: the parent), so the walk is short; a fresh search starting
 * elsewhere pays O(size) once. Correct because a chain never holds an element twice (step()
 * returns the same state for a duplicate), and `size` is a node's depth.
 */
const cursor = { node: EMPTY, members: new Set<string>() };
function moveCursor(target: SetState): Set<string> {
  const members = cursor.members;
  let a: SetState = cursor.node;
  let b: SetState = target;
  const enter: string[] = [];
  while (b.size > a.size) {
    enter.push(b.element!);
    b = b.rest!;
  }
  while (a.size > b.size) {
    members.delete(a.element!);
    a = a.rest!;
  }
  while (a !== b) {
    members.delete(a.element!);
    a = a.rest!;
    enter.push(b.element!);
    b = b.rest!;
  }
  for (let i = enter.length - 1; i >= 0; i--) members.add(enter[i]!);
  cursor.node = target;
  return members;
}

function has(state: SetState, element: string): boolean {
  return moveCursor(state).has(element);
}

/** Exact equality of a state and a set of strings (fingerprints first, cheaply). */
function sameMembers(state: SetState, other: Set<string>, h1: number, h2: number): boolean {
  if (other.size !== state.size || h1 !== state.h1 || h2 !== state.h2) return false;
  const members = moveCursor(state);
  for (const e of other) if (!members.has(e)) return false;
  return true;
}

interface NormalizedRead {
  members: Set<string>;
  h1: number;
  h2: number;
}

/** A read output deduplicated and fingerprinted once, memoized per output object. */
const normalizedReads = new WeakMap<SetOutput, NormalizedRead>();
function normalize(output: SetOutput): NormalizedRead | undefined {
  let n = normalizedReads.get(output);
  if (n === undefined) {
    if (!Array.isArray(output.elements)) return undefined;
    const members = new Set<string>();
    let h1 = 0;
    let h2 = 0;
    for (const raw of output.elements) {
      const e = String(raw);
      if (members.has(e)) continue;
      members.add(e);
      h1 ^= fnv1a(e);
      h2 ^= mix32(e);
    }
    n = { members, h1: h1 >>> 0, h2: h2 >>> 0 };
    normalizedReads.set(output, n);
  }
  return n;
}

function show(elements: Iterable<string>): string {
  return `{${[...elements]
    .sort()
    .map((e) => JSON.stringify(e))
    .join(', ')}}`;
}

export const setModel: Model<SetState, SetInput, SetOutput> = {
  name: 'set',
  init: () => EMPTY,
  step(state, input, output) {
    if (input.kind === 'append') {
      // Appending a present element leaves the set unchanged (elements are meant to be unique;
      // this keeps size and the XOR fingerprint honest if they are not).
      if (has(state, input.element)) return [true, state];
      return [
        true,
        {
          element: input.element,
          rest: state,
          size: state.size + 1,
          h1: (state.h1 ^ fnv1a(input.element)) >>> 0,
          h2: (state.h2 ^ mix32(input.element)) >>> 0,
        },
      ];
    }
    if (output === undefined) return [true, state]; // an unknown read constrains nothing
    const read = normalize(output);
    return [read !== undefined && sameMembers(state, read.members, read.h1, read.h2), state];
  },
  validate: (op) =>
    op.status === 'ok' && op.input.kind === 'read' && !Array.isArray(op.output?.elements)
      ? "an 'ok' read needs output.elements (an array)"
      : undefined,
  // A fingerprint, not a canonical string (that would be O(size) per step): equal() confirms.
  key: (state) => `${state.size}:${state.h1}:${state.h2}`,
  equal(a, b) {
    if (a === b) return true;
    if (a.size !== b.size || a.h1 !== b.h1 || a.h2 !== b.h2) return false;
    // The cache passes (visited, current): move the cursor to the current state, which it is
    // near, not to the visited one, which may have diverged long ago.
    const members = moveCursor(b);
    for (let n: SetState | null = a; n !== null && n.element !== null; n = n.rest) {
      if (!members.has(n.element)) return false;
    }
    return true;
  },
  partition: (ops) => partitionBy(ops, (op) => op.input.key),
  /**
   * Drops reads with an unknown outcome, and unknown appends whose element no 'ok' read contains.
   * Safe: sets only grow, so in any linearization every read after such an append would contain
   * its element; none does, so no read follows it, and removing it changes no read's result.
   */
  prune(ops) {
    if (ops.every((op) => op.status === 'ok')) return ops;
    const seen = new Set<string>();
    for (const op of ops) {
      if (op.status === 'ok' && op.input.kind === 'read' && Array.isArray(op.output?.elements)) {
        for (const e of op.output!.elements!) seen.add(String(e));
      }
    }
    return ops.filter((op) => {
      if (op.status === 'ok') return true;
      return op.input.kind === 'append' && seen.has(op.input.element);
    });
  },
  // An append produces its element; an ok read observes each element it returned.
  tokens(op) {
    const i = op.input;
    if (i.kind === 'append') return { produces: [i.element] };
    if (op.status !== 'ok' || !Array.isArray(op.output?.elements)) return {};
    return { observes: op.output!.elements!.map(String) };
  },
  // Dropping an append everywhere is a projection: a linearization of the history restricted to
  // the other elements is the original one minus that append. So a read forgets the element.
  project(op, lost) {
    if (op.input.kind !== 'read' || !Array.isArray(op.output?.elements)) return null;
    return { ...op, output: { ...op.output, elements: op.output!.elements!.filter((e) => !lost.has(String(e))) } };
  },
  describe(op) {
    const i = op.input;
    if (i.kind === 'append') return `append ${i.key} += ${JSON.stringify(i.element)}`;
    if (op.status !== 'ok') return `read ${i.key} -> ?`;
    const els = op.output?.elements;
    return `read ${i.key} -> ${Array.isArray(els) ? show(new Set(els.map(String))) : 'undefined'}`;
  },
  describeState: (state) => show(elementsOf(state)),
};
