/**
 * The syntax tree of a Datalog program. Plain JSON-serialisable values so that a
 * parsed program can be stored, diffed and shipped between stages.
 */

/** A constant: Congress has strings and numbers (ints and floats share JS numbers). */
export type Value = string | number;

/** A ground tuple of a predicate, e.g. `nova:servers("vm1", 3)`. */
export interface Fact {
  pred: string;
  args: Value[];
}

/** 1-based position in the source text. */
export interface SourceLoc {
  file?: string;
  line: number;
  col: number;
}

export interface VarTerm {
  kind: 'var';
  /** `_` for an anonymous variable; every `_` is a distinct variable. */
  name: string;
  anonymous: boolean;
  loc: SourceLoc;
}

export interface ConstTerm {
  kind: 'const';
  value: Value;
  loc: SourceLoc;
}

export type Term = VarTerm | ConstTerm;

export interface Atom {
  /** Full name including an optional module prefix, e.g. `nova:servers`. */
  pred: string;
  args: Term[];
  loc: SourceLoc;
}

interface AtomLiteral {
  kind: 'atom';
  negated: boolean;
  atom: Atom;
  loc: SourceLoc;
}

/** A call of a builtin (`lt(X, 3)`) or an infix comparison (`X < 3`, stored as `lt`). */
export interface BuiltinLiteral {
  kind: 'builtin';
  negated: boolean;
  name: string;
  args: Term[];
  /** The operator when written infix, so the rule prints back as written. */
  infix?: string;
  loc: SourceLoc;
}

export type Literal = AtomLiteral | BuiltinLiteral;

export interface Rule {
  head: Atom;
  body: Literal[];
  loc: SourceLoc;
}

export interface ProgramFact extends Fact {
  loc: SourceLoc;
}

export interface Program {
  file?: string;
  rules: Rule[];
  facts: ProgramFact[];
}
