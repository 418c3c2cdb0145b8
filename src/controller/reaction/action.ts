/**
 * What a reaction does, as a value: the reaction rules derive actions, the guardrails decide on
 * them, the effects carry them out, and each has an inverse so it can be undone or expire.
 */

/** Actions a reaction rule may derive, each from its own output predicate (see rules.ts). */
export type Action =
  /** Cut an instance off (its port and taps stay: monitors keep seeing what it attempts). */
  | { kind: 'quarantine'; instance: string }
  /** Limit (`rate` new connections/s) or drop (no rate) a source outside the application. */
  | { kind: 'restrict'; source: string; port?: number; rate?: number }
  /** Raise what the agent of an instance's node collects, to a level. */
  | { kind: 'verbosity'; instance: string; level: number }
  /** Divert an instance's flows to an inline monitor, which passes only what its policies allow. */
  | { kind: 'redirect-inline'; instance: string; monitor: string }
  /** Terminate an instance and deploy it again from its image (the orchestrator's redeploy). */
  | { kind: 'redeploy'; instance: string }
  /** Copy only 1 in `every` flows to an overloaded monitor (its redirects stay whole). */
  | { kind: 'sample'; monitor: string; every: number };

export type ActionKind = Action['kind'];

export const ACTION_KINDS: readonly ActionKind[] = ['quarantine', 'restrict', 'verbosity', 'redirect-inline', 'redeploy', 'sample'];

/** Two derivations of the same action are one reaction: the key says which. */
export function actionKey(a: Action): string {
  switch (a.kind) {
    case 'quarantine':
    case 'redeploy':
      return `${a.kind}:${a.instance}`;
    case 'verbosity':
      return `verbosity:${a.instance}:${a.level}`;
    case 'redirect-inline':
      return `redirect-inline:${a.instance}:${a.monitor}`;
    case 'restrict':
      return `restrict:${a.source}:${a.port ?? '*'}`;
    case 'sample':
      return `sample:${a.monitor}`;
  }
}

/** The instance an action is about, if it is about one. */
export function actionInstance(a: Action): string | undefined {
  return a.kind === 'restrict' || a.kind === 'sample' ? undefined : a.instance;
}

/** Who the notices that call for the action are about: the instance, the outside source, or the monitor. */
export function offenderOf(a: Action): string {
  return a.kind === 'restrict' ? a.source : a.kind === 'sample' ? a.monitor : a.instance;
}

/** One line for people: `quarantine user-create-0`, `restrict 198.51.100.7 port 8080 to 10/s`. */
export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'quarantine':
      return `quarantine ${a.instance}`;
    case 'redeploy':
      return `redeploy ${a.instance}`;
    case 'verbosity':
      return `raise the agent level to ${a.level} for ${a.instance}`;
    case 'redirect-inline':
      return `redirect ${a.instance} through inline monitor ${a.monitor}`;
    case 'restrict':
      return `${a.rate === undefined ? 'drop' : `limit to ${a.rate} new connections/s`} ${a.source}${a.port !== undefined ? ` to port ${a.port}` : ''}`;
    case 'sample':
      return `copy 1 in ${a.every} flows to monitor ${a.monitor}`;
  }
}

/**
 * The restriction id a restrict action installs: derived from what it restricts, so the same
 * source is never restricted twice and the rule (`restrict <id>`) can be found by anyone.
 */
export function restrictionId(a: Extract<Action, { kind: 'restrict' }>): string {
  return `rx-${a.source.replace(/[^0-9a-fA-F]+/g, '-')}${a.port !== undefined ? `-p${a.port}` : ''}`;
}
