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
import { Lexer, type Token } from './lexer.js';

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

/** An atom as read, before its argument tokens become terms (a fact never needs them). */
interface RawAtom {
  pred: string;
  tok: Token;
  args: Token[];
}

const isNot = (t: Token): boolean => t.kind === '!' || (t.kind === 'ident' && (t.text === 'not' || t.text === 'NOT'));

class Parser {
  readonly errors: Diagnostic[] = [];
  readonly rules: Rule[] = [];
  readonly facts: ProgramFact[] = [];
  /** Tokens come from the lexer as needed; the parser looks one ahead at most. */
  private tok: Token;
  private ahead: Token | null = null;
  /** Line of the token before `tok` (a statement may end where the next line starts one). */
  private prevLine = 0;
  /** Count of tokens consumed, so recovery knows whether it moved. */
  private pos = 0;

  constructor(
    private readonly lexer: Lexer,
    private readonly file: string | undefined,
  ) {
    this.tok = lexer.next();
  }

  private cur(): Token {
    return this.tok;
  }

  private peek(): Token {
    if (this.tok.kind === 'eof') return this.tok;
    this.ahead ??= this.lexer.next();
    return this.ahead;
  }

  private advance(): void {
    if (this.tok.kind === 'eof') return;
    this.prevLine = this.tok.line;
    this.pos++;
    if (this.ahead !== null) {
      this.tok = this.ahead;
      this.ahead = null;
    } else {
      this.tok = this.lexer.next();
    }
  }

  private loc(t: Token): SourceLoc {
    return this.locAt(t.line, t.col);
  }

  private locAt(line: number, col: number): SourceLoc {
    return this.file !== undefined ? { file: this.file, line, col } : { line, col };
  }

  private error(expected: string, t: Token = this.cur()): never {
    const message = t.kind === 'error' ? (t.message ?? 'invalid token') : `expected ${expected} but found ${describe(t)}`;
    this.errors.push(diag('E_DL_SYNTAX', message, this.loc(t)));
    throw new DatalogSyntaxError(message);
  }

  private expect(kind: Token['kind'], expected: string): Token {
    const t = this.cur();
    if (t.kind !== kind) this.error(expected);
    this.advance();
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
    if (this.pos === start) this.advance();
    while (this.cur().kind !== 'eof') {
      if (this.cur().kind === '.' || this.cur().kind === ';') {
        this.advance();
        return;
      }
      if (this.cur().line > errLine && this.prevLine < this.cur().line) return;
      this.advance();
    }
  }

  private statement(): void {
    const first = this.cur();
    if (first.kind !== 'ident' || isNot(first)) this.error('a fact or rule head (a predicate name)');
    if (this.ahead === null) {
      const args = this.lexer.plainFact();
      if (args !== null) {
        this.facts.push({ pred: first.text, args, loc: this.loc(first) });
        this.prevLine = first.line;
        // Generated input is fact after fact: read them in one run, without tokens.
        const lexer = this.lexer;
        for (let more = lexer.nextPlainFact(); more !== null; more = lexer.nextPlainFact()) {
          this.facts.push({ pred: lexer.factPred, args: more, loc: this.locAt(lexer.factLine, lexer.factCol) });
          this.prevLine = lexer.factLine;
        }
        this.pos++;
        this.tok = lexer.next();
        return;
      }
    }
    const head = this.rawAtom();
    if (this.cur().kind !== ',' && this.cur().kind !== ':-') {
      this.end("':-' or '.' after the head");
      if (head.args.every((t) => t.kind !== 'ident')) {
        // A fact, the bulk of generated input: its values straight from the tokens, no terms.
        const args = new Array<Value>(head.args.length);
        for (let i = 0; i < args.length; i++) args[i] = head.args[i].value as Value;
        this.facts.push({ pred: head.pred, args, loc: this.loc(head.tok) });
      } else {
        // A "fact" with variables: kept as a bodiless rule so the safety check names them.
        const atom = this.toAtom(head);
        this.rules.push({ head: atom, body: [], loc: atom.loc });
      }
      return;
    }
    const heads = [this.toAtom(head)];
    while (this.cur().kind === ',') {
      this.advance();
      if (this.cur().kind !== 'ident' || isNot(this.cur())) this.error('another rule head (a predicate name)');
      heads.push(this.atom());
    }
    if (this.cur().kind !== ':-') this.error("':-' after several heads");
    this.advance();
    const body: Literal[] = [this.literal()];
    while (this.cur().kind === ',') {
      this.advance();
      body.push(this.literal());
    }
    this.end("',' or '.' after a body literal");
    for (const h of heads) this.rules.push({ head: h, body, loc: h.loc });
  }

  private end(expected: string): void {
    const t = this.cur();
    if (t.kind === '.' || t.kind === ';') {
      this.advance();
      return;
    }
    if (t.kind === 'eof') return;
    if (t.line > this.prevLine && t.kind === 'ident') return;
    this.error(expected);
  }

  private predName(): { name: string; tok: Token } {
    const t = this.expect('ident', 'a predicate name');
    let name = t.text;
    while (this.cur().kind === ':') {
      this.advance();
      name += ':' + this.expect('ident', `a table name after module '${name}:'`).text;
    }
    return { name, tok: t };
  }

  private atom(): Atom {
    return this.toAtom(this.rawAtom());
  }

  /** An atom as read, its arguments still tokens (each a variable, string or number). */
  private rawAtom(): RawAtom {
    const { name, tok } = this.predName();
    return { pred: name, tok, args: this.args() };
  }

  private toAtom(r: RawAtom): Atom {
    return { pred: r.pred, args: r.args.map((t) => this.term(t)), loc: this.loc(r.tok) };
  }

  private args(): Token[] {
    const args: Token[] = [];
    if (this.cur().kind !== '(') return args;
    this.advance();
    if (this.cur().kind === ')') {
      this.advance();
      return args;
    }
    args.push(this.termToken());
    while (this.cur().kind === ',') {
      this.advance();
      args.push(this.termToken());
    }
    this.expect(')', "',' or ')' in the argument list");
    return args;
  }

  private termToken(): Token {
    const t = this.cur();
    if (!this.isTermStart(t)) this.error('a term (variable, string or number)');
    this.advance();
    return t;
  }

  private term(t: Token): Term {
    const loc = this.loc(t);
    if (t.kind === 'ident') {
      const name = t.text;
      return { kind: 'var', name, anonymous: name === '_', loc };
    }
    return { kind: 'const', value: t.value as Value, loc };
  }

  private isTermStart(t: Token): boolean {
    return t.kind === 'ident' || t.kind === 'string' || t.kind === 'number';
  }

  private literal(): Literal {
    const start = this.cur();
    // `not` is reserved: followed by a term it negates the literal that follows.
    const negated = isNot(start) && this.isTermStart(this.peek());
    if (negated) this.advance();
    const t = this.cur();
    const loc = this.loc(start);
    if (this.isTermStart(t) && this.peek().kind === 'op') {
      const left = this.term(this.termToken());
      const op = this.cur().text;
      this.advance();
      const right = this.term(this.termToken());
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
  const p = new Parser(new Lexer(text), file);
  p.parse();
  if (p.errors.length > 0) return fail(p.errors);
  const program: Program = { rules: p.rules, facts: p.facts };
  if (file !== undefined) program.file = file;
  return ok(program);
}
