/**
 * Recursive-descent parser for Congress-compatible Datalog.
 *
 *   program   := statement*
 *   statement := atom ['.' | ';']                                  (a fact)
 *              | atom (',' atom)* ':-' literal (',' literal)* ['.' | ';']
 *   literal   := [NOT] atom | [NOT] term OP term        NOT := 'not' | 'NOT' | '!'
 *   atom      := name (':' name)* ['(' [term (',' term)*] ')']
 *   term      := identifier (a variable) | '_' | string | number
 *
 * A statement ends at '.' or ';', at end of input, or — as in Congress, where the
 * terminator is optional — where the next statement starts on a new line.
 * Several heads share one body (`p(X), q(X) :- r(X)` is two rules).
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import type { Atom, Literal, Program, ProgramFact, Rule, SourceLoc, Term, Value } from './ast.js';
import { INFIX_BUILTINS, isBuiltin } from './builtins.js';
import { tokenize, type Token } from './lexer.js';

const MAX_ERRORS = 100;

class DatalogSyntaxError extends Error {}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of input';
    case 'ident':
      return `identifier '${t.text}'`;
    case 'string':
      return `string ${t.text}`;
    case 'number':
      return `number ${t.text}`;
    case 'op':
      return `operator '${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}

const isNot = (t: Token): boolean => t.kind === '!' || (t.kind === 'ident' && (t.text === 'not' || t.text === 'NOT'));

class Parser {
  private pos = 0;
  readonly errors: Diagnostic[] = [];
  readonly rules: Rule[] = [];
  readonly facts: ProgramFact[] = [];

  constructor(
    private readonly tokens: Token[],
    private readonly file: string | undefined,
  ) {}

  private cur(): Token {
    return this.tokens[this.pos];
  }

  private peek(k = 1): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)];
  }

  private loc(t: Token): SourceLoc {
    return this.file !== undefined ? { file: this.file, line: t.line, col: t.col } : { line: t.line, col: t.col };
  }

  private error(expected: string, t: Token = this.cur()): never {
    const message = t.kind === 'error' ? (t.message ?? 'invalid token') : `expected ${expected} but found ${describe(t)}`;
    this.errors.push(diag('E_DL_SYNTAX', message, this.loc(t)));
    throw new DatalogSyntaxError(message);
  }

  private expect(kind: Token['kind'], expected: string): Token {
    const t = this.cur();
    if (t.kind !== kind) this.error(expected);
    this.pos++;
    return t;
  }

  parse(): void {
    while (this.cur().kind !== 'eof' && this.errors.length < MAX_ERRORS) {
      const start = this.pos;
      try {
        this.statement();
      } catch (e) {
        if (!(e instanceof DatalogSyntaxError)) throw e;
        this.recover(start);
      }
    }
  }

  /** Skip to just after the next '.', or to the next token that starts a line. */
  private recover(start: number): void {
    const errLine = this.cur().line;
    if (this.pos === start) this.pos++;
    while (this.cur().kind !== 'eof') {
      if (this.cur().kind === '.' || this.cur().kind === ';') {
        this.pos++;
        return;
      }
      if (this.cur().line > errLine && this.tokens[this.pos - 1].line < this.cur().line) return;
      this.pos++;
    }
  }

  private statement(): void {
    const first = this.cur();
    if (first.kind !== 'ident' || isNot(first)) this.error('a fact or rule head (a predicate name)');
    const head = this.atom();
    const heads = [head];
    while (this.cur().kind === ',') {
      this.pos++;
      if (this.cur().kind !== 'ident' || isNot(this.cur())) this.error('another rule head (a predicate name)');
      heads.push(this.atom());
    }
    if (heads.length > 1 && this.cur().kind !== ':-') this.error("':-' after several heads");
    if (this.cur().kind === ':-') {
      this.pos++;
      const body: Literal[] = [this.literal()];
      while (this.cur().kind === ',') {
        this.pos++;
        body.push(this.literal());
      }
      this.end("',' or '.' after a body literal");
      for (const h of heads) this.rules.push({ head: h, body, loc: h.loc });
      return;
    }
    this.end("':-' or '.' after the head");
    if (head.args.every((a) => a.kind === 'const')) {
      this.facts.push({ pred: head.pred, args: head.args.map((a) => (a as { value: Value }).value), loc: head.loc });
    } else {
      // A "fact" with variables: kept as a bodiless rule so the safety check names them.
      this.rules.push({ head, body: [], loc: head.loc });
    }
  }

  private end(expected: string): void {
    const t = this.cur();
    if (t.kind === '.' || t.kind === ';') {
      this.pos++;
      return;
    }
    if (t.kind === 'eof') return;
    if (t.line > this.tokens[this.pos - 1].line && t.kind === 'ident') return;
    this.error(expected);
  }

  private predName(): { name: string; tok: Token } {
    const t = this.expect('ident', 'a predicate name');
    let name = t.text;
    while (this.cur().kind === ':') {
      this.pos++;
      name += ':' + this.expect('ident', `a table name after module '${name}:'`).text;
    }
    return { name, tok: t };
  }

  private atom(): Atom {
    const { name, tok } = this.predName();
    return { pred: name, args: this.args(), loc: this.loc(tok) };
  }

  private args(): Term[] {
    const args: Term[] = [];
    if (this.cur().kind !== '(') return args;
    this.pos++;
    if (this.cur().kind === ')') {
      this.pos++;
      return args;
    }
    args.push(this.term());
    while (this.cur().kind === ',') {
      this.pos++;
      args.push(this.term());
    }
    this.expect(')', "',' or ')' in the argument list");
    return args;
  }

  private term(): Term {
    const t = this.cur();
    const loc = this.loc(t);
    if (t.kind === 'ident') {
      this.pos++;
      return { kind: 'var', name: t.text, anonymous: t.text === '_', loc };
    }
    if (t.kind === 'string' || t.kind === 'number') {
      this.pos++;
      return { kind: 'const', value: t.value as Value, loc };
    }
    return this.error('a term (variable, string or number)');
  }

  private isTermStart(t: Token): boolean {
    return t.kind === 'ident' || t.kind === 'string' || t.kind === 'number';
  }

  private literal(): Literal {
    const start = this.cur();
    // `not` is reserved: followed by a term it negates the literal that follows.
    const negated = isNot(start) && this.isTermStart(this.peek());
    if (negated) this.pos++;
    const t = this.cur();
    const loc = this.loc(start);
    if (this.isTermStart(t) && this.peek().kind === 'op') {
      const left = this.term();
      const op = this.cur().text;
      this.pos++;
      const right = this.term();
      return { kind: 'builtin', negated, name: INFIX_BUILTINS[op], args: [left, right], infix: op, loc };
    }
    if (t.kind !== 'ident') this.error("a body literal (an atom, 'not' atom, or a comparison)");
    const atom = this.atom();
    if (isBuiltin(atom.pred)) return { kind: 'builtin', negated, name: atom.pred, args: atom.args, loc };
    return { kind: 'atom', negated, atom, loc };
  }
}

/** Parse a program; every syntax error is reported with file, line and column. */
export function parseProgram(text: string, file?: string): Result<Program> {
  const p = new Parser(tokenize(text), file);
  p.parse();
  if (p.errors.length > 0) return fail(p.errors);
  const program: Program = { rules: p.rules, facts: p.facts };
  if (file !== undefined) program.file = file;
  return ok(program);
}
