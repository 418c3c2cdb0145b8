/**
 * Builtin predicates: their arity, which arguments must be bound before they can run
 * (inputs) and which one they may bind (output). The evaluator and the safety check
 * both read this table so they can never disagree.
 */
import { cidrContains, parseCidr, type IpCidr } from '../net/index.js';
import type { Value } from './ast.js';

export interface BuiltinSpec {
  name: string;
  arity: number;
  /** Argument positions that must be bound when the builtin runs. */
  inputs: readonly number[];
  /** Argument position that is computed when unbound (arithmetic). */
  output?: number;
  /** `equal` binds whichever side is unbound when the other is bound. */
  unifies?: boolean;
  /** Test for a fully bound call; undefined when an argument is outside the builtin's domain. */
  test(args: readonly Value[]): boolean | undefined;
  /**
   * Why a value cannot be argument `position`, or undefined when it can. The check runs it on
   * constants; evaluation runs it when `test` returns undefined, to say which value and why.
   */
  argProblem?(value: Value, position: number): string | undefined;
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

// Parsed blocks (or why the text is none) by text: rules test the same few addresses over and over.
const blocks = new Map<string, IpCidr | string>();
const BLOCK_CACHE_LIMIT = 4096;

function blockOf(v: Value): IpCidr | string {
  if (typeof v !== 'string') return `${v} is a number, not an IP address or block`;
  let b = blocks.get(v);
  if (b === undefined) {
    const r = parseCidr(v, { bare: true });
    b = r.ok ? r.cidr : `"${v}" is not an IP address or block: ${r.reason}`;
    // Bounded so that hostile inputs cannot grow it without limit.
    if (blocks.size >= BLOCK_CACHE_LIMIT) blocks.clear();
    blocks.set(v, b);
  }
  return b;
}

/**
 * `cidr_contains(Block, AddressOrBlock)`, with the project's one address syntax (src/net): a
 * malformed address, a leading zero in a dotted quad or host bits in a block is an error, not a
 * silent "no" that would make a deny rule match nothing. Families never contain each other.
 */
const CIDR_CONTAINS: BuiltinSpec = {
  name: 'cidr_contains',
  arity: 2,
  inputs: [0, 1],
  test: (a) => {
    const outer = blockOf(a[0]);
    const inner = blockOf(a[1]);
    if (typeof outer === 'string' || typeof inner === 'string') return undefined;
    return cidrContains(outer, inner);
  },
  argProblem: (v) => {
    const b = blockOf(v);
    return typeof b === 'string' ? b : undefined;
  },
};

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
  CIDR_CONTAINS,
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
