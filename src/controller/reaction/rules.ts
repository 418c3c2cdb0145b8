/**
 * Reaction rules: Datalog over the facts of one notice, the model and the current state, whose
 * conclusions are actions. One program holds both the rules and the operator's guardrail facts,
 * so what the controller may do and when it must ask are read in one place.
 *
 * Input facts, per notice N (besides the model facts of docs/facts.md):
 *   notice(N, Note)                 the notice type, e.g. "FlowTap::Disallowed_SQL"
 *   notice_monitor(N, Monitor)
 *   notice_src(N, I), notice_src_service(N, S)   where the offending connection came from
 *   notice_dst(N, I), notice_dst_service(N, S)   where it went
 *   notice_external(N, Ip)          its source is outside the application
 *   notice_port(N, Port)
 *   evidence(N, Key, Value)         the monitor's evidence, scalar fields
 *   state(I, State)                 running | isolated | terminated
 *   running(S, Count)               instances of S neither isolated nor terminated
 *   restricted(Source)              sources already restricted
 *
 * Conclusions (each one action):
 *   quarantine(N, I)
 *   restrict(N, Source, Port, Rate)        Port 0 = every port; Rate 0 = drop, else new connections/s
 *   verbosity(N, I, Level)
 *   redirect_inline(N, I, Monitor)
 *   redeploy(N, I)
 *   sample(N, M, Every)                    monitor M gets 1 in Every flows of its copies
 *
 * Guardrails (facts of the program):
 *   needs_approval(Kind)            actions of this kind wait for an operator
 *   expires(Kind, Seconds)          actions of this kind are undone after so long unless kept
 *   min_healthy(S, Count)           never leave fewer running instances of S without approval
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import {
  checkProgram,
  evaluate,
  formatDerivation,
  parseProgram,
  type CheckedProgram,
  type Database,
  type Fact,
  type Value,
} from '../../datalog/index.js';
import type { ActionKind, Action } from './action.js';
import { ACTION_KINDS } from './action.js';
import type { NoticeView } from './notice.js';

/** An action a rule derived for a notice, with the derivation that shows which rule and why. */
export interface Proposal {
  action: Action;
  /** The derivation tree, as text (rule location, rule text, the facts it matched). */
  derivation: string;
  /** `file:line` of the rule that concluded it. */
  rule: string;
}

export interface Guardrails {
  needsApproval: ReadonlySet<ActionKind>;
  expiresS: Readonly<Partial<Record<ActionKind, number>>>;
  minHealthy: Readonly<Record<string, number>>;
}

export interface ReactionProgram {
  checked: CheckedProgram;
  guardrails: Guardrails;
  file: string;
}

/** What the controller knows of the deployment when a notice arrives. */
export interface ReactionState {
  status: Readonly<Record<string, 'running' | 'isolated' | 'terminated'>>;
  restricted: readonly string[];
}

const OUTPUTS: Record<string, number> = { quarantine: 2, restrict: 4, verbosity: 3, redirect_inline: 3, redeploy: 2, sample: 3 };
const INPUTS: Record<string, number> = {
  notice: 2,
  notice_monitor: 2,
  notice_src: 2,
  notice_src_service: 2,
  notice_dst: 2,
  notice_dst_service: 2,
  notice_external: 2,
  notice_port: 2,
  evidence: 3,
  state: 2,
  running: 2,
  restricted: 1,
};
const GUARDS: Record<string, number> = { needs_approval: 1, expires: 2, min_healthy: 2 };

/**
 * Parses and checks reaction rules once; every problem is a diagnostic with its place in the
 * file. Guardrails may follow from the model (`min_healthy(S, 1) :- label(S, "tier", "front")`),
 * so they are read with the model's facts.
 */
export function loadReactionProgram(text: string, file: string, model: readonly Fact[] = []): Result<ReactionProgram> {
  const parsed = parseProgram(text, file);
  if (!parsed.ok) return parsed;
  const checked = checkProgram(parsed.value);
  if (!checked.ok) return checked;
  const errors: Diagnostic[] = [];
  const arities = { ...OUTPUTS, ...INPUTS, ...GUARDS };
  for (const [name, info] of checked.value.predicates) {
    const want = arities[name];
    if (want !== undefined && info.arity !== want)
      errors.push(diag('E_REACTION_RULES', `${name} takes ${want} arguments, not ${info.arity}`, info.loc));
  }
  if (![...checked.value.predicates.keys()].some((p) => p in OUTPUTS))
    errors.push(
      diag('E_REACTION_RULES', `no rule concludes an action (one of ${Object.keys(OUTPUTS).join(', ')}): the program would never react`, {
        file,
      }),
    );
  const guard = evaluate(checked.value, model);
  if (!guard.ok) return guard;
  const kinds = new Set<string>(ACTION_KINDS);
  const kindOf = (v: Value, where: string): ActionKind | undefined => {
    const k = String(v).replace('_', '-');
    if (kinds.has(k)) return k as ActionKind;
    errors.push(diag('E_REACTION_RULES', `${where}: "${v}" is not an action (have ${ACTION_KINDS.join(', ')})`, { file }));
    return undefined;
  };
  const needsApproval = new Set<ActionKind>();
  for (const [k] of guard.value.query('needs_approval')) {
    const kind = kindOf(k, 'needs_approval');
    if (kind) needsApproval.add(kind);
  }
  const expiresS: Partial<Record<ActionKind, number>> = {};
  for (const [k, s] of guard.value.query('expires')) {
    const kind = kindOf(k, 'expires');
    if (kind && typeof s === 'number' && s > 0) expiresS[kind] = s;
    else if (kind) errors.push(diag('E_REACTION_RULES', `expires("${k}", ${s}): seconds must be a positive number`, { file }));
  }
  const minHealthy: Record<string, number> = {};
  for (const [s, n] of guard.value.query('min_healthy')) {
    if (typeof n === 'number' && Number.isInteger(n) && n >= 0) minHealthy[String(s)] = n;
    else errors.push(diag('E_REACTION_RULES', `min_healthy("${s}", ${n}): the count must be a whole number`, { file }));
  }
  if (errors.length) return fail(errors);
  return ok({ checked: checked.value, guardrails: { needsApproval, expiresS, minHealthy }, file });
}

/** The facts of one notice and of the state it meets, as the rules see them. */
export function noticeFacts(n: NoticeView, state: ReactionState, services: ReadonlyMap<string, string>): Fact[] {
  const out: Fact[] = [];
  const f = (pred: string, ...args: Value[]) => void out.push({ pred, args });
  f('notice', n.id, n.note);
  if (n.monitor) f('notice_monitor', n.id, n.monitor);
  if (n.src.instance) f('notice_src', n.id, n.src.instance);
  if (n.src.service) f('notice_src_service', n.id, n.src.service);
  if (n.dst.instance) f('notice_dst', n.id, n.dst.instance);
  if (n.dst.service) f('notice_dst_service', n.id, n.dst.service);
  if (n.src.ip && !n.src.instance) f('notice_external', n.id, n.src.ip);
  if (n.port !== undefined) f('notice_port', n.id, n.port);
  for (const [k, v] of Object.entries(n.evidence)) f('evidence', n.id, k, v);
  const running = new Map<string, number>();
  for (const [i, s] of Object.entries(state.status)) {
    f('state', i, s);
    const svc = services.get(i);
    if (svc) running.set(svc, (running.get(svc) ?? 0) + (s === 'running' ? 1 : 0));
  }
  for (const [s, c] of running) f('running', s, c);
  for (const r of state.restricted) f('restricted', r);
  return out;
}

/** Evaluates the rules for one notice: every action they conclude for it, each with its derivation. */
export function propose(program: ReactionProgram, facts: readonly Fact[], noticeId: string): Result<Proposal[]> {
  const db = evaluate(program.checked, facts, { provenance: true });
  if (!db.ok) return db;
  const out: Proposal[] = [];
  const seen = new Set<string>();
  for (const [pred, arity] of Object.entries(OUTPUTS)) {
    if (!program.checked.predicates.has(pred)) continue;
    for (const row of db.value.query(pred)) {
      if (row.length !== arity || row[0] !== noticeId) continue;
      const action = toAction(pred, row);
      if (!action) continue;
      const key = JSON.stringify(action);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ action, ...explained(db.value, pred, row) });
    }
  }
  return ok(out);
}

function explained(db: Database, pred: string, row: Value[]): { derivation: string; rule: string } {
  const d = db.explain(pred, row);
  if (!d.ok) return { derivation: '', rule: '' };
  const loc = d.value.rule?.loc;
  return { derivation: formatDerivation(d.value), rule: loc ? `${loc.file ?? ''}:${loc.line}` : '' };
}

/** A conclusion whose arguments do not make an action (a rule bound a number where a name goes) is ignored. */
function toAction(pred: string, row: Value[]): Action | null {
  const name = (v: Value) => (typeof v === 'string' && v !== '' ? v : null);
  switch (pred) {
    case 'quarantine':
    case 'redeploy': {
      const i = name(row[1]);
      return i ? { kind: pred, instance: i } : null;
    }
    case 'verbosity': {
      const i = name(row[1]);
      const level = row[2];
      return i && typeof level === 'number' && Number.isInteger(level) && level >= 0 && level <= 4
        ? { kind: 'verbosity', instance: i, level }
        : null;
    }
    case 'redirect_inline': {
      const i = name(row[1]);
      const m = name(row[2]);
      return i && m ? { kind: 'redirect-inline', instance: i, monitor: m } : null;
    }
    case 'sample': {
      const m = name(row[1]);
      const every = row[2];
      return m && typeof every === 'number' && Number.isInteger(every) && every >= 2 && every <= 1_000_000
        ? { kind: 'sample', monitor: m, every }
        : null;
    }
    case 'restrict': {
      const src = name(row[1]);
      const port = row[2];
      const rate = row[3];
      if (!src || typeof port !== 'number' || typeof rate !== 'number' || port < 0 || port > 65535 || rate < 0) return null;
      return { kind: 'restrict', source: src, ...(port > 0 ? { port } : {}), ...(rate > 0 ? { rate } : {}) };
    }
  }
  return null;
}
