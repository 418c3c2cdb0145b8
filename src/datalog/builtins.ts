/**
 * Builtin predicates: their arity, which arguments must be bound before they can run
 * (inputs) and which one they may bind (output). The evaluator and the safety check
 * both read this table so they can never disagree.
 */
import type { Value } from './ast.js';
import { cidrContains } from './cidr.js';

export interface BuiltinSpec {
  name: string;
  arity: number;
  /** Argument positions that must be bound when the builtin runs. */
  inputs: readonly number[];
  /** Argument position that is computed when unbound (arithmetic). */
  output?: number;
  /** `equal` binds whichever side is unbound when the other is bound. */
  unifies?: boolean;
  /** Test for a fully bound call. */
  test(args: readonly Value[]): boolean;
  /** Compute the output from the inputs; undefined when there is no result. */
  compute?(args: readonly Value[]): Value | undefined;
}

function ordered(cmp: (c: number) => boolean): (a: readonly Value[]) => boolean {
  return (a) => {
    const x = a[0];
    const y = a[1];
    // Python (and so Congress) refuses to order a number against a string: no derivation.
    if (typeof x !== typeof y) return false;
    return cmp(x < y ? -1 : x > y ? 1 : 0);
  };
}

function arithmetic(name: string, f: (x: number, y: number) => number): BuiltinSpec {
  const compute = (a: readonly Value[]): Value | undefined => {
    const x = a[0];
    const y = a[1];
    if (typeof x !== 'number' || typeof y !== 'number') return undefined;
    const r = f(x, y);
    return Number.isFinite(r) ? r : undefined;
  };
  return {
    name,
    arity: 3,
    inputs: [0, 1],
    output: 2,
    compute,
    test: (a) => {
      const r = compute(a);
      return r !== undefined && r === a[2];
    },
  };
}

function portInRange(a: readonly Value[]): boolean {
  const [p, lo, hi] = a;
  return typeof p === 'number' && typeof lo === 'number' && typeof hi === 'number' && lo <= p && p <= hi;
}

const SPECS: BuiltinSpec[] = [
  { name: 'equal', arity: 2, inputs: [0, 1], unifies: true, test: (a) => a[0] === a[1] },
  { name: 'neq', arity: 2, inputs: [0, 1], test: (a) => a[0] !== a[1] },
  { name: 'lt', arity: 2, inputs: [0, 1], test: ordered((c) => c < 0) },
  { name: 'lteq', arity: 2, inputs: [0, 1], test: ordered((c) => c <= 0) },
  { name: 'gt', arity: 2, inputs: [0, 1], test: ordered((c) => c > 0) },
  { name: 'gteq', arity: 2, inputs: [0, 1], test: ordered((c) => c >= 0) },
  arithmetic('plus', (x, y) => x + y),
  arithmetic('minus', (x, y) => x - y),
  arithmetic('mul', (x, y) => x * y),
  {
    name: 'cidr_contains',
    arity: 2,
    inputs: [0, 1],
    test: (a) => typeof a[0] === 'string' && typeof a[1] === 'string' && cidrContains(a[0], a[1]),
  },
  { name: 'port_in_range', arity: 3, inputs: [0, 1, 2], test: portInRange },
];

export const BUILTINS: ReadonlyMap<string, BuiltinSpec> = new Map(SPECS.map((s) => [s.name, s]));

/** Infix comparison operators and the builtin each one stands for. */
export const INFIX_BUILTINS: Readonly<Record<string, string>> = {
  '=': 'equal',
  '==': 'equal',
  '!=': 'neq',
  '<': 'lt',
  '<=': 'lteq',
  '>': 'gt',
  '>=': 'gteq',
};

/** The operator used when printing a builtin back in infix form. */
export const BUILTIN_INFIX: Readonly<Record<string, string>> = {
  equal: '=',
  neq: '!=',
  lt: '<',
  lteq: '<=',
  gt: '>',
  gteq: '>=',
};

export function isBuiltin(name: string): boolean {
  return BUILTINS.has(name);
}
