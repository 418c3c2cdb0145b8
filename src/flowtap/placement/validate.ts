/**
 * Placement inputs arrive as JSON (API, broker, files), so they are checked field by field before
 * the placer trusts a single number: a NaN capacity or a reversed port range would otherwise turn
 * into an overloaded monitor or a wrong tap rule.
 */
import { diag, fail, ok, type Diagnostic, type Result, type DiagCode } from '../../diagnostics/index.js';
import type { Assignment, Placement, PlacementInput } from './types.js';

/** Hostile input can hold millions of bad items; the first ones say enough. */
const MAX_DIAGNOSTICS = 100;

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isAmount = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535;

class Collector {
  readonly list: Diagnostic[] = [];
  constructor(private readonly code: DiagCode) {}
  add(field: string, message: string): void {
    if (this.list.length < MAX_DIAGNOSTICS) this.list.push(diag(this.code, message, { field }));
    else if (this.list.length === MAX_DIAGNOSTICS) this.list.push(diag(this.code, 'further errors omitted'));
  }
}

function checkMonitor(m: unknown, at: string, errs: Collector, names: Set<string>): void {
  if (!isObj(m)) return errs.add(at, 'a monitor must be an object');
  if (!isName(m.name)) errs.add(`${at}.name`, 'must be a non-empty string');
  else if (names.has(m.name)) errs.add(`${at}.name`, `duplicate monitor name '${m.name}'`);
  else names.add(m.name);
  if (!isName(m.node)) errs.add(`${at}.node`, 'must be a non-empty string');
  if (!isAmount(m.capacity)) errs.add(`${at}.capacity`, 'must be a finite number of Mbit/s >= 0');
  if (!Array.isArray(m.inspects) || m.inspects.length === 0 || !m.inspects.every(isName)) {
    errs.add(`${at}.inspects`, "must be a non-empty list of protocol names (or 'any')");
  }
  if (m.app !== undefined && !isName(m.app)) errs.add(`${at}.app`, 'must be a non-empty string when given');
}

function checkFlow(f: unknown, at: string, errs: Collector, ids: Set<string>): void {
  if (!isObj(f)) return errs.add(at, 'a flow group must be an object');
  if (!isName(f.id)) errs.add(`${at}.id`, 'must be a non-empty string');
  else if (ids.has(f.id)) errs.add(`${at}.id`, `duplicate flow group id '${f.id}'`);
  else ids.add(f.id);
  for (const k of ['instance', 'service', 'node', 'kind'] as const) {
    if (!isName(f[k])) errs.add(`${at}.${k}`, 'must be a non-empty string');
  }
  if (f.app !== undefined && !isName(f.app)) errs.add(`${at}.app`, 'must be a non-empty string when given');
  if (!isAmount(f.load)) errs.add(`${at}.load`, 'must be a finite number of Mbit/s >= 0');
  if (typeof f.sliceable !== 'boolean') errs.add(`${at}.sliceable`, 'must be true or false');
  if (f.srcPortRange !== undefined) {
    const r = f.srcPortRange;
    if (!Array.isArray(r) || r.length !== 2 || !isPort(r[0]) || !isPort(r[1])) {
      errs.add(`${at}.srcPortRange`, 'must be [lo, hi] with integer ports 0-65535');
    } else if (r[0] > r[1]) {
      errs.add(`${at}.srcPortRange`, `lower port ${r[0]} is above upper port ${r[1]}`);
    }
  }
}

/** Checks a placement input; the value returned is the same object, now typed. */
export function validatePlacementInput(input: unknown): Result<PlacementInput> {
  const errs = new Collector('E_PLACEMENT_INPUT');
  if (!isObj(input)) return fail(diag('E_PLACEMENT_INPUT', 'placement input must be an object with monitors, flows and strategy'));
  if (input.strategy !== 'per-app' && input.strategy !== 'per-node') {
    errs.add('strategy', `must be 'per-app' or 'per-node', got ${JSON.stringify(input.strategy) ?? 'nothing'}`);
  }
  if (!Array.isArray(input.monitors)) errs.add('monitors', 'must be a list');
  else {
    const names = new Set<string>();
    for (const [i, m] of input.monitors.entries()) checkMonitor(m, `monitors[${i}]`, errs, names);
  }
  if (!Array.isArray(input.flows)) errs.add('flows', 'must be a list');
  else {
    const ids = new Set<string>();
    for (const [i, f] of input.flows.entries()) checkFlow(f, `flows[${i}]`, errs, ids);
  }
  return errs.list.length ? fail(errs.list) : ok(input as unknown as PlacementInput);
}

/**
 * Checks the shape of a previous placement. Contents that no longer match the input (a monitor
 * gone, a slice outside the flow's range) are not errors: re-placement moves those flows.
 */
export function validatePreviousPlacement(previous: unknown): Result<Placement> {
  const errs = new Collector('E_PLACEMENT_PREVIOUS');
  if (!isObj(previous) || !Array.isArray(previous.assignments)) {
    return fail(diag('E_PLACEMENT_PREVIOUS', 'previous placement must be an object with an assignments list', { field: 'assignments' }));
  }
  for (const [i, a] of (previous.assignments as unknown[]).entries()) {
    const at = `assignments[${i}]`;
    if (!isObj(a)) {
      errs.add(at, 'an assignment must be an object');
      continue;
    }
    if (!isName(a.flow)) errs.add(`${at}.flow`, 'must be a non-empty string');
    if (!isName(a.monitor)) errs.add(`${at}.monitor`, 'must be a non-empty string');
    if (typeof a.share !== 'number' || !(a.share >= 0 && a.share <= 1)) errs.add(`${at}.share`, 'must be a number in 0..1');
    if (a.load !== undefined && !isAmount(a.load)) errs.add(`${at}.load`, 'must be a finite number >= 0 when given');
    if (a.slice !== undefined) {
      const s = a.slice;
      if (!isObj(s) || (s.kind !== 'src-port' && s.kind !== 'src-addr')) {
        errs.add(`${at}.slice`, 'must be a src-port or src-addr slice');
      } else if (s.kind === 'src-port' && (!isPort(s.from) || !isPort(s.to) || (s.from as number) > (s.to as number))) {
        errs.add(`${at}.slice`, 'a src-port slice needs integer ports from <= to within 0-65535');
      }
    }
  }
  if (previous.unplaced !== undefined && !Array.isArray(previous.unplaced)) errs.add('unplaced', 'must be a list when given');
  if (errs.list.length) return fail(errs.list);
  const assignments = previous.assignments as Assignment[];
  return ok({
    assignments,
    unplaced: (previous.unplaced as Placement['unplaced'] | undefined) ?? [],
    monitorLoad: isObj(previous.monitorLoad) ? (previous.monitorLoad as Record<string, number>) : {},
    crossNodeShare: typeof previous.crossNodeShare === 'number' ? previous.crossNodeShare : 0,
  });
}
