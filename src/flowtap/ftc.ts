/**
 * ftc, the FlowTap policy compiler: Datalog monitoring policies → FlowTap contracts.
 *
 * A policy derives (docs/ftc.md):
 *   tap(Src, Monitor, Flow, Action)      a contract to a named monitor
 *   tap_kind(Src, Kind, Flow, Action)    a contract to any monitor inspecting Kind; placement chooses
 *   tap_direction(Src, Flow, Dir)        "ingress" | "egress" | "both" (default both)
 *   tap_sample(Src, Flow, Every, Unit)   Unit "packet" | "flow"
 *   tap_budget(Src, Flow, Rate, Unit)    Unit "pps" | "bps"
 *   tap_failmode(Src, Flow, Mode)        "open" | "closed" (redirect only)
 * Src is an instance (its port) or a service (all its instances). Every contract comes with
 * its mirror (the reply direction) to the same monitor, so monitors see whole conversations.
 */
import { basename } from 'node:path';
import { diag, fail, ok, type Diagnostic, type Location, type Result } from '../diagnostics/index.js';
import type { Addressing, App } from '../model/index.js';
import {
  checkProgram,
  evaluate,
  formatDerivation,
  parseProgram,
  type Database,
  type EvalOptions,
  type Fact,
  type Value,
} from '../datalog/index.js';
import { checkContracts, checkTenancy } from './contract-checks.js';
import type { FlowTap, FlowTapDirection, FlowTapOptions } from './contract.js';
import type { FlowMatch } from './flow/index.js';
import { mirrorFlow } from './flow/index.js';
import { parseFlow } from './flow/index.js';
import { printFlow } from './flow/index.js';
import { ftcFacts, type FtcFactOptions } from './ftc-facts.js';
import { place, replace } from './placement/index.js';
import type { FlowGroup, MovedFlow, Placement, PlacementStrategy } from './placement/index.js';

export interface PolicySource {
  file: string;
  text: string;
}

export interface FtcOptions extends FtcFactOptions {
  strategy?: PlacementStrategy;
  /**
   * The placement in force: when loads change, re-placement keeps what still fits and moves as
   * few flow groups as it can (flow group ids are stable: port, kind, flow and action).
   */
  previous?: Placement;
  /** Bounds on evaluating each policy (default: the engine's, a few seconds and a few hundred MB). */
  limits?: Pick<EvalOptions, 'maxSeconds' | 'maxMb' | 'maxTuples'>;
}

export interface CompiledTaps {
  contracts: FlowTap[];
  placement: Placement | null;
  /** Flow groups that moved, when a previous placement was given. */
  moved: MovedFlow[];
  /** Contract id -> the derivation tree that produced it (provenance for explain-tap). */
  derivations: Record<string, string>;
  facts: number;
}

interface Wanted {
  policy: string;
  src: string;
  /** Src as the policy wrote it (instance or service): options are keyed by it. */
  srcArg: string;
  monitor?: string;
  kind?: string;
  flowText: string;
  flow: FlowMatch;
  action: 'forward' | 'redirect';
  derivation: string;
  loc?: Location;
}

export function compileTaps(app: App, addressing: Addressing, policies: PolicySource[], opts: FtcOptions = {}): Result<CompiledTaps> {
  const facts = ftcFacts(app, addressing, opts);
  const errors: Diagnostic[] = [];
  const wanted: Wanted[] = [];
  const options = new Map<string, FlowTapOptions & { direction?: FlowTapDirection }>();
  for (const p of policies) {
    const parsed = parseProgram(p.text, p.file);
    if (!parsed.ok) {
      errors.push(...parsed.errors);
      continue;
    }
    const checked = checkProgram(parsed.value);
    if (!checked.ok) {
      errors.push(...checked.errors);
      continue;
    }
    const evaluated = evaluate(checked.value, facts, { ...opts.limits, provenance: true });
    if (!evaluated.ok) {
      errors.push(...evaluated.errors);
      continue;
    }
    const db = evaluated.value;
    const policy = basename(p.file).replace(/\.[^.]*$/, '');
    collectTaps(app, db, policy, p.file, wanted, errors);
    collectOptions(db, options, policy, p.file, errors);
  }
  if (errors.length) return fail(errors);

  // Placement decides the monitor of every tap_kind.
  const byKind = wanted.filter((w) => w.kind);
  let placement: Placement | null = null;
  const monitorsOf = new Map<Wanted, { monitor: string; slice?: { from: number; to: number } }[]>();
  let moved: MovedFlow[] = [];
  if (byKind.length) {
    const groupOf = new Map<string, Wanted>();
    const instanceByName = new Map(app.instances.map((x) => [x.name, x]));
    const loads = loadTable(facts);
    const groups: FlowGroup[] = byKind.map((w) => {
      const inst = instanceByName.get(w.src)!;
      const proto = w.flow.nw_proto?.value;
      const id = `${w.src}|${w.kind}|${w.flowText}|${w.action}`;
      groupOf.set(id, w);
      return {
        id,
        instance: inst.name,
        service: inst.service,
        app: app.name,
        node: addressing.instances[inst.name]?.node ?? inst.node,
        kind: w.kind!,
        load: loads.get(inst.name) ?? opts.defaultLoad ?? 10,
        // Slicing narrows tp_src, which needs a TCP or UDP flow without its own tp_src.
        sliceable: (proto === 6 || proto === 17) && !w.flow.tp_src,
      };
    });
    const input = {
      monitors: app.monitors.map((m) => ({ name: m.name, node: m.node, capacity: m.capacity, inspects: m.inspects, app: app.name })),
      flows: groups,
      strategy: opts.strategy ?? 'per-node',
    };
    if (opts.previous) {
      const re = replace(opts.previous, input);
      if (!re.ok) return fail(re.errors);
      placement = re.value.placement;
      moved = re.value.moved;
    } else {
      const placed = place(input);
      if (!placed.ok) return fail(placed.errors);
      placement = placed.value;
    }
    for (const u of placement.unplaced) {
      const w = groupOf.get(u.flow)!;
      errors.push(diag('E_FTC_UNPLACED', `tap of ${w.src} (${w.kind}, ${w.flowText}) could not be placed: ${u.reason}`, w.loc));
    }
    for (const a of placement.assignments) {
      const w = groupOf.get(a.flow)!;
      const list = monitorsOf.get(w) ?? [];
      list.push({ monitor: a.monitor, ...(a.slice?.kind === 'src-port' ? { slice: { from: a.slice.from, to: a.slice.to } } : {}) });
      monitorsOf.set(w, list);
    }
  }
  if (errors.length) return fail(errors);

  const contracts: FlowTap[] = [];
  const derivations: Record<string, string> = {};
  const counters = new Map<string, number>();
  for (const w of wanted) {
    const targets = w.monitor ? [{ monitor: w.monitor }] : (monitorsOf.get(w) ?? []);
    // Options belong to the policy that states them: another policy's tap of the same flow is unaffected.
    const o = options.get(`${w.policy}|${w.srcArg}|${w.flowText}`) ?? {};
    const { direction = 'both', ...contractOptions } = o;
    for (const t of targets) {
      const n = (counters.get(w.policy) ?? 0) + 1;
      counters.set(w.policy, n);
      const id = `${w.policy}:${n}`;
      let flow = w.flow;
      let reply = mirrorFlow(w.flow);
      if ('slice' in t && t.slice) {
        const sliced = sliceFlows(w.flow, t.slice);
        if (!sliced.ok) {
          errors.push(...sliced.errors);
          continue;
        }
        [flow, reply] = sliced.value;
      }
      const base = {
        tenant: app.tenant,
        src: w.src,
        dst: t.monitor,
        action: w.action,
        options: contractOptions,
        direction,
        origin: { policyFile: w.loc?.file, line: w.loc?.line, derivation: w.derivation },
      };
      contracts.push({ id, flow, ...base });
      derivations[id] = w.derivation;
      if (printFlow(reply) !== printFlow(flow)) {
        contracts.push({ id: `${id}r`, flow: reply, ...base });
        derivations[`${id}r`] = `${w.derivation}\n(reply direction of ${id})`;
      }
    }
  }
  const ports: Record<string, string> = {};
  for (const i of app.instances) ports[i.name] = app.tenant;
  const monitors: Record<string, string> = {};
  for (const m of app.monitors) monitors[m.name] = app.tenant;
  errors.push(...checkContracts(contracts), ...checkTenancy(contracts, { ports, monitors }));
  if (errors.length) return fail(errors);
  return ok({ contracts, placement, moved, derivations, facts: facts.length });
}

function loadTable(facts: Fact[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const f of facts) if (f.pred === 'load' && typeof f.args[1] === 'number') m.set(String(f.args[0]), f.args[1]);
  return m;
}

function sliceFlows(flow: FlowMatch, s: { from: number; to: number }): Result<[FlowMatch, FlowMatch]> {
  const req = parseFlow(`${printFlow(flow)},tp_src=${s.from}-${s.to}`);
  if (!req.ok) return req;
  const rep = parseFlow(`${printFlow(mirrorFlow(flow))},tp_dst=${s.from}-${s.to}`);
  if (!rep.ok) return rep;
  return ok([req.value, rep.value]);
}

/** Src values -> instances of this application; a name missing here is another tenant's port. */
function portIndex(app: App): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const i of app.instances) {
    m.set(i.name, [i.name]);
    const list = m.get(i.service) ?? [];
    if (!m.has(i.service)) m.set(i.service, list);
    list.push(i.name);
  }
  return m;
}

function collectTaps(app: App, db: Database, policy: string, file: string, out: Wanted[], errors: Diagnostic[]): void {
  const ports = portIndex(app);
  const monitors = new Set(app.monitors.map((m) => m.name));
  for (const pred of ['tap', 'tap_kind'] as const) {
    if (!db.predicates().includes(pred)) continue;
    for (const t of db.query(pred)) {
      const [src, target, flowText, action] = t;
      const explained = db.explain(pred, [...t]);
      const derivation = explained.ok ? formatDerivation(explained.value) : `${pred}(${t.join(', ')})`;
      const loc = derivationLoc(explained, file);
      const what = `${pred}(${t.map((v) => JSON.stringify(v)).join(', ')})`;
      if (t.length !== 4) {
        errors.push(
          diag('E_FTC_TAP', `${what}: ${pred} takes 4 arguments (Src, ${pred === 'tap' ? 'Monitor' : 'Kind'}, Flow, Action)`, loc),
        );
        continue;
      }
      if (action !== 'forward' && action !== 'redirect') {
        errors.push(diag('E_FTC_TAP', `${what}: action must be "forward" or "redirect", not ${JSON.stringify(action)}`, loc));
        continue;
      }
      const instances = ports.get(String(src));
      if (!instances) {
        errors.push(
          diag(
            'E_FTC_TENANCY',
            `${what}: "${src}" is not a port of ${app.tenant}/${app.name}; a tenant can only tap its own application`,
            loc,
          ),
        );
        continue;
      }
      if (pred === 'tap' && !monitors.has(String(target))) {
        errors.push(diag('E_FTC_TENANCY', `${what}: "${target}" is not a monitor of ${app.tenant}/${app.name}`, loc));
        continue;
      }
      const flow = parseFlow(String(flowText), loc);
      if (!flow.ok) {
        errors.push(...flow.errors.map((e) => ({ ...e, message: `${what}: ${e.message}` })));
        continue;
      }
      for (const inst of instances)
        out.push({
          policy,
          src: inst,
          srcArg: String(src),
          ...(pred === 'tap' ? { monitor: String(target) } : { kind: String(target) }),
          flowText: String(flowText),
          flow: flow.value,
          action,
          derivation,
          loc,
        });
    }
  }
}

/** Where a tuple came from: the rule that derived it, or the program fact it is. */
function derivationLoc(explained: ReturnType<Database['explain']>, file: string): Location {
  const at = explained.ok ? (explained.value.rule?.loc ?? explained.value.loc) : undefined;
  return at ? { file, line: at.line, col: at.col } : { file };
}

function collectOptions(
  db: Database,
  out: Map<string, FlowTapOptions & { direction?: FlowTapDirection }>,
  policy: string,
  file: string,
  errors: Diagnostic[],
): void {
  const get = (src: Value, flow: Value) => {
    const key = `${policy}|${src}|${flow}`;
    let o = out.get(key);
    if (!o) {
      o = {};
      out.set(key, o);
    }
    return o;
  };
  const has = (p: string) => db.predicates().includes(p);
  // Only a bad tuple needs its origin: the rule or fact that made it, so the error has a line.
  const at = (pred: string, t: Value[]): Location => derivationLoc(db.explain(pred, t), file);
  if (has('tap_direction'))
    for (const t of db.query('tap_direction')) {
      const [src, flow, dir] = t;
      if (dir !== 'ingress' && dir !== 'egress' && dir !== 'both')
        errors.push(diag('E_FTC_TAP', `tap_direction: "${dir}" is not ingress, egress or both`, at('tap_direction', t)));
      else get(src, flow).direction = dir;
    }
  if (has('tap_sample'))
    for (const t of db.query('tap_sample')) {
      const [src, flow, every, unit] = t;
      if (typeof every !== 'number' || (unit !== 'packet' && unit !== 'flow'))
        errors.push(
          diag('E_FTC_TAP', `tap_sample(${src}, ${flow}, ${every}, ${unit}): want a number and "packet" or "flow"`, at('tap_sample', t)),
        );
      else get(src, flow).sample = { every, unit };
    }
  if (has('tap_budget'))
    for (const t of db.query('tap_budget')) {
      const [src, flow, rate, unit] = t;
      if (typeof rate !== 'number' || (unit !== 'pps' && unit !== 'bps'))
        errors.push(
          diag('E_FTC_TAP', `tap_budget(${src}, ${flow}, ${rate}, ${unit}): want a number and "pps" or "bps"`, at('tap_budget', t)),
        );
      else get(src, flow).budget = { rate, unit };
    }
  if (has('tap_failmode'))
    for (const t of db.query('tap_failmode')) {
      const [src, flow, mode] = t;
      if (mode !== 'open' && mode !== 'closed')
        errors.push(diag('E_FTC_TAP', `tap_failmode: "${mode}" is not open or closed`, at('tap_failmode', t)));
      else get(src, flow).failMode = mode;
    }
}
