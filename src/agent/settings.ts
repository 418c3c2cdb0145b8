/**
 * Collectors, their levels and the run-time settings of each: level, period and filters.
 * A setting is the fold of every verbosity change the agent received, so applying a change is
 * a pure function of the current settings and the message; the agent only acts on the result.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../diagnostics/index.js';
import { RECORD_KINDS, type RecordKind } from '../broker/index.js';

export const COLLECTORS = ['counters', 'interfaces', 'flows', 'logs', 'monitor-logs', 'syscalls'] as const;
export type CollectorName = (typeof COLLECTORS)[number];

/** The level from which a collector runs: 1 counters, 2 + flows and logs, 3 + monitor rows, 4 + syscalls. */
const COLLECTOR_LEVEL: Record<CollectorName, number> = {
  counters: 1,
  interfaces: 1,
  flows: 2,
  logs: 2,
  'monitor-logs': 3,
  syscalls: 4,
};

/** What each collector can emit; a kinds filter narrows this. */
export const COLLECTOR_KINDS: Record<CollectorName, RecordKind[]> = {
  counters: ['counter'],
  interfaces: ['interface'],
  flows: ['flow'],
  logs: ['log'],
  // Notices are not a collector's: the agent ships them at every level, whatever the filters (notices.ts).
  'monitor-logs': ['monitor-log'],
  syscalls: ['syscall'],
};

export const MAX_LEVEL = 4;
export const MIN_PERIOD_MS = 100;
export const MAX_PERIOD_MS = 3_600_000;
export const DEFAULT_PERIOD_MS = 5000;

export interface CollectorSetting {
  level: number;
  periodMs: number;
  /** Only records about these instances (records about no instance are dropped too); none = all. */
  instances?: string[];
  /** Only these record kinds; none = every kind the collector emits. */
  kinds?: RecordKind[];
}

export type Settings = Record<CollectorName, CollectorSetting>;

/**
 * One verbosity change, as the controller or `flowtap verbosity` publishes it. A missing
 * collector (or `*`) means every collector; a missing field leaves it as it is; `null` for a
 * filter removes it.
 */
export interface VerbositySetting {
  /** Chosen by the sender and echoed in the acknowledgement, so it can tell its answers from others'. */
  id?: string;
  collector?: CollectorName | '*';
  level?: number;
  periodMs?: number;
  instances?: string[] | null;
  kinds?: RecordKind[] | null;
}

/** Runs at its level, unless its kinds filter leaves it nothing to emit. */
export function isActive(name: CollectorName, s: CollectorSetting): boolean {
  return s.level >= COLLECTOR_LEVEL[name] && (s.kinds === undefined || s.kinds.length > 0);
}

export function initialSettings(
  level: number,
  periodMs: number,
  overrides: Partial<Record<CollectorName, Partial<CollectorSetting>>> = {},
): Settings {
  const out = {} as Settings;
  for (const c of COLLECTORS) out[c] = { level, periodMs, ...overrides[c] };
  return out;
}

const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Checks a message from the bus: anything that is not a well-formed setting is rejected whole. */
export function parseVerbosity(msg: unknown, where = 'verbosity'): Result<VerbositySetting> {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    return fail(diag('E_AGENT_CONTROL', 'a verbosity change must be an object', { field: where }));
  const m = msg as Record<string, unknown>;
  const errors: Diagnostic[] = [];
  const out: VerbositySetting = {};
  for (const key of Object.keys(m))
    if (!['id', 'collector', 'level', 'periodMs', 'instances', 'kinds'].includes(key))
      errors.push(diag('E_AGENT_CONTROL', `unknown field "${key}"`, { field: `${where}.${key}` }));
  if (m.id !== undefined) {
    if (typeof m.id === 'string' && REQUEST_ID.test(m.id)) out.id = m.id;
    else
      errors.push(
        diag('E_AGENT_CONTROL', `id must be 1-64 letters, digits, _ or -, not ${JSON.stringify(m.id)}`, { field: `${where}.id` }),
      );
  }
  if (m.collector !== undefined) {
    if (m.collector === '*' || (typeof m.collector === 'string' && (COLLECTORS as readonly string[]).includes(m.collector)))
      out.collector = m.collector as CollectorName | '*';
    else
      errors.push(
        diag('E_AGENT_CONTROL', `collector must be one of ${COLLECTORS.join(', ')} or *, not ${JSON.stringify(m.collector)}`, {
          field: `${where}.collector`,
        }),
      );
  }
  if (m.level !== undefined) {
    if (typeof m.level === 'number' && Number.isInteger(m.level) && m.level >= 0 && m.level <= MAX_LEVEL) out.level = m.level;
    else
      errors.push(
        diag('E_AGENT_CONTROL', `level must be an integer from 0 to ${MAX_LEVEL}, not ${JSON.stringify(m.level)}`, {
          field: `${where}.level`,
        }),
      );
  }
  if (m.periodMs !== undefined) {
    if (typeof m.periodMs === 'number' && Number.isFinite(m.periodMs) && m.periodMs >= MIN_PERIOD_MS && m.periodMs <= MAX_PERIOD_MS)
      out.periodMs = Math.round(m.periodMs);
    else
      errors.push(
        diag(
          'E_AGENT_CONTROL',
          `periodMs must be a number of milliseconds from ${MIN_PERIOD_MS} to ${MAX_PERIOD_MS}, not ${JSON.stringify(m.periodMs)}`,
          { field: `${where}.periodMs` },
        ),
      );
  }
  if (m.instances !== undefined) {
    if (m.instances === null || (isStringArray(m.instances) && m.instances.length > 0)) out.instances = m.instances as string[] | null;
    else
      errors.push(
        diag('E_AGENT_CONTROL', 'instances must be a non-empty list of instance names, or null to remove the filter', {
          field: `${where}.instances`,
        }),
      );
  }
  if (m.kinds !== undefined) {
    if (m.kinds === null) out.kinds = null;
    else if (isStringArray(m.kinds) && m.kinds.length > 0) {
      const bad = m.kinds.filter((k) => !(RECORD_KINDS as readonly string[]).includes(k));
      if (bad.length)
        errors.push(
          diag('E_AGENT_CONTROL', `unknown record kind ${bad.map((b) => JSON.stringify(b)).join(', ')}`, { field: `${where}.kinds` }),
        );
      else out.kinds = m.kinds as RecordKind[];
    } else
      errors.push(
        diag('E_AGENT_CONTROL', 'kinds must be a non-empty list of record kinds, or null to remove the filter', {
          field: `${where}.kinds`,
        }),
      );
  }
  return errors.length ? fail(errors) : ok(out);
}

/**
 * The settings after a change. Instance names the agent does not know are rejected: a filter
 * that silently matches nothing would look like a quiet instance.
 */
export function applyVerbosity(current: Settings, change: VerbositySetting, knownInstances: readonly string[]): Result<Settings> {
  const unknown = (change.instances ?? []).filter((i) => !knownInstances.includes(i));
  if (unknown.length)
    return fail(
      diag('E_AGENT_CONTROL', `no instance ${unknown.join(', ')} on this node (known: ${knownInstances.join(', ') || 'none'})`, {
        field: 'instances',
      }),
    );
  const targets = change.collector === undefined || change.collector === '*' ? COLLECTORS : [change.collector];
  const next = { ...current };
  for (const c of targets) {
    const s: CollectorSetting = { ...current[c] };
    if (change.level !== undefined) s.level = change.level;
    if (change.periodMs !== undefined) s.periodMs = change.periodMs;
    if (change.instances === null) delete s.instances;
    else if (change.instances) s.instances = [...change.instances];
    if (change.kinds === null) delete s.kinds;
    else if (change.kinds) {
      const mine = change.kinds.filter((k) => COLLECTOR_KINDS[c].includes(k));
      // A kinds filter naming none of this collector's kinds, sent to every collector, is about the others.
      if (mine.length === 0 && targets.length > 1) {
        s.kinds = [];
      } else if (mine.length === 0) {
        return fail(
          diag('E_AGENT_CONTROL', `collector ${c} emits ${COLLECTOR_KINDS[c].join(', ')}, none of ${change.kinds.join(', ')}`, {
            field: 'kinds',
          }),
        );
      } else s.kinds = mine;
    }
    next[c] = s;
  }
  return ok(next);
}

/** Whether a record a collector made passes that collector's filters. */
export function passes(s: CollectorSetting, kind: RecordKind, instance: string | undefined): boolean {
  if (s.kinds && !s.kinds.includes(kind)) return false;
  if (s.instances && (instance === undefined || !s.instances.includes(instance))) return false;
  return true;
}
