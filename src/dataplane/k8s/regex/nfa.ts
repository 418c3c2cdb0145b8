/**
 * Whole-string matching by simulating the regex's NFA over all its states at once (Thompson,
 * as RE2 does), so the time is linear in the input for every regex, hostile ones included:
 * a CiliumNetworkPolicy read from a file must not be able to stall the evaluator the way a
 * backtracking engine would on `(a+)+$`.
 */
import { type CharSet, has } from './charset.js';
import type { RegexNode } from './parse.js';

type Inst =
  | { op: 'set'; set: CharSet; next: number }
  | { op: 'split'; a: number; b: number }
  | { op: 'jmp'; to: number }
  | { op: 'bol'; next: number }
  | { op: 'eol'; next: number }
  | { op: 'match' };

export interface Program {
  readonly insts: readonly Inst[];
}

/** Counted repetitions copy their body; this bounds the copies so memory stays small. */
const MAX_PROGRAM_SIZE = 20_000;

export class ProgramTooLarge extends Error {}

export function compile(node: RegexNode): Program {
  const insts: Inst[] = [];
  const emit = (i: Inst): number => {
    if (insts.length >= MAX_PROGRAM_SIZE) throw new ProgramTooLarge(`more than ${MAX_PROGRAM_SIZE} NFA states`);
    insts.push(i);
    return insts.length - 1;
  };
  // Each gen emits code that falls through to whatever is emitted next.
  const gen = (n: RegexNode): void => {
    switch (n.t) {
      case 'set':
        emit({ op: 'set', set: n.set, next: insts.length + 1 });
        return;
      case 'bol':
      case 'eol':
        emit({ op: n.t, next: insts.length + 1 });
        return;
      case 'cat':
        for (const item of n.items) gen(item);
        return;
      case 'alt': {
        const jumps: number[] = [];
        for (let k = 0; k < n.items.length - 1; k++) {
          const split = emit({ op: 'split', a: insts.length + 1, b: -1 });
          gen(n.items[k]);
          jumps.push(emit({ op: 'jmp', to: -1 }));
          (insts[split] as { b: number }).b = insts.length;
        }
        gen(n.items[n.items.length - 1]);
        for (const j of jumps) (insts[j] as { to: number }).to = insts.length;
        return;
      }
      case 'rep': {
        for (let k = 0; k < n.min; k++) gen(n.node);
        if (n.max === Number.POSITIVE_INFINITY) {
          const loop = emit({ op: 'split', a: insts.length + 1, b: -1 });
          gen(n.node);
          emit({ op: 'jmp', to: loop });
          (insts[loop] as { b: number }).b = insts.length;
          return;
        }
        const exits: number[] = [];
        for (let k = n.min; k < n.max; k++) {
          exits.push(emit({ op: 'split', a: insts.length + 1, b: -1 }));
          gen(n.node);
        }
        for (const e of exits) (insts[e] as { b: number }).b = insts.length;
        return;
      }
    }
  };
  gen(node);
  emit({ op: 'match' });
  return { insts };
}

/** Whether the whole of `input` matches (RE2::FullMatch, which is how Envoy applies Cilium's HTTP rules). */
export function fullMatch(program: Program, input: string): boolean {
  const { insts } = program;
  const chars = Array.from(input, (c) => c.codePointAt(0)!);
  const end = chars.length;
  // A generation stamp per state replaces clearing a visited set at every step.
  const seen = new Int32Array(insts.length).fill(-1);
  let current: number[] = [];
  let next: number[] = [];
  const stack: number[] = [];

  const addClosure = (list: number[], start: number, pos: number): void => {
    stack.push(start);
    while (stack.length) {
      const pc = stack.pop()!;
      if (seen[pc] === pos) continue;
      seen[pc] = pos;
      const inst = insts[pc];
      switch (inst.op) {
        case 'jmp':
          stack.push(inst.to);
          break;
        case 'split':
          stack.push(inst.b, inst.a);
          break;
        case 'bol':
          if (pos === 0) stack.push(inst.next);
          break;
        case 'eol':
          if (pos === end) stack.push(inst.next);
          break;
        default:
          list.push(pc);
      }
    }
  };

  addClosure(current, 0, 0);
  for (let pos = 0; pos < end; pos++) {
    const c = chars[pos];
    next.length = 0;
    for (const pc of current) {
      const inst = insts[pc];
      if (inst.op === 'set' && has(inst.set, c)) addClosure(next, inst.next, pos + 1);
    }
    [current, next] = [next, current];
    if (current.length === 0) return false;
  }
  return current.some((pc) => insts[pc].op === 'match');
}
