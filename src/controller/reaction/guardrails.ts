/**
 * Guardrails: whether a proposed action is carried out now, only recorded (dry run), held for
 * an operator, or not needed; and its blast radius — the required connections it would cut —
 * so whoever approves, or reads a dry run, sees what the action costs the application.
 */
import type { App } from '../../model/index.js';
import { actionInstance, actionKey, type Action } from './action.js';
import type { Guardrails } from './rules.js';

/** One required connection (a requirement of the descriptor) an action cuts or thins out. */
export interface Cut {
  requirement: number;
  from: string;
  to: string;
  port: string;
  note?: string;
  /** `cut`: no running instance is left to serve it; `reduced`: other instances still do. */
  effect: 'cut' | 'reduced';
}

export type Decision =
  | { kind: 'apply' }
  | { kind: 'dry-run' }
  | { kind: 'await-approval'; reason: string }
  /** The action is in force already (an earlier reaction, or the operator did it). */
  | { kind: 'duplicate'; reason: string };

export interface GuardInput {
  action: Action;
  app: App;
  status: Readonly<Record<string, 'running' | 'isolated' | 'terminated'>>;
  restricted: readonly string[];
  /** Keys (actionKey) of the reactions in force or waiting. */
  active: ReadonlySet<string>;
  guardrails: Guardrails;
  dryRun: boolean;
  /** Reactions applied in the last minute, and the most allowed. */
  recent: number;
  maxPerMinute: number;
}

export function blastRadius(a: Action, app: App, status: GuardInput['status']): Cut[] {
  // Deeper collection cuts nothing; sampling an overloaded monitor thins what it sees, not what flows.
  if (a.kind === 'verbosity' || a.kind === 'sample') return [];
  if (a.kind === 'restrict') {
    // Only this source loses the public ports it reaches; every other client keeps them.
    const out: Cut[] = [];
    for (const r of app.requirements) {
      if (r.from !== 'external') continue;
      const port = app.services.find((s) => s.name === r.to)?.ports.find((p) => p.name === r.port);
      if (a.port !== undefined && port?.port !== a.port) continue;
      out.push({
        requirement: r.id,
        from: `external ${a.source}`,
        to: r.to,
        port: r.port,
        ...(r.note ? { note: r.note } : {}),
        effect: a.rate === undefined ? 'cut' : 'reduced',
      });
    }
    return out;
  }
  const inst = app.instances.find((i) => i.name === a.instance);
  if (!inst) return [];
  // redirect-inline keeps what the monitor approves: nothing required is cut, but every flow waits on it.
  const others = app.instances.filter(
    (i) => i.service === inst.service && i.name !== inst.name && (status[i.name] ?? 'running') === 'running',
  );
  const effect = a.kind === 'redirect-inline' || others.length > 0 ? 'reduced' : 'cut';
  return app.requirements
    .filter((r) => r.from === inst.service || r.to === inst.service)
    .map((r) => ({ requirement: r.id, from: r.from, to: r.to, port: r.port, ...(r.note ? { note: r.note } : {}), effect }));
}

export function decide(g: GuardInput): Decision {
  const a = g.action;
  const key = actionKey(a);
  if (g.active.has(key)) return { kind: 'duplicate', reason: 'the same action is in force or waiting already' };
  const inst = actionInstance(a);
  if (a.kind === 'quarantine' && inst && g.status[inst] === 'isolated')
    return { kind: 'duplicate', reason: `${inst} is quarantined already` };
  if (a.kind === 'restrict' && g.restricted.includes(a.source) && a.port === undefined)
    return { kind: 'duplicate', reason: `${a.source} is restricted already` };
  if (g.dryRun) return { kind: 'dry-run' };
  if (g.guardrails.needsApproval.has(a.kind))
    return { kind: 'await-approval', reason: `${a.kind} needs an operator's approval (needs_approval)` };
  if ((a.kind === 'quarantine' || a.kind === 'redeploy') && inst) {
    const svc = g.app.instances.find((i) => i.name === inst)?.service;
    const min = svc ? g.guardrails.minHealthy[svc] : undefined;
    if (svc && min !== undefined) {
      const left = g.app.instances.filter(
        (i) => i.service === svc && i.name !== inst && (g.status[i.name] ?? 'running') === 'running',
      ).length;
      if (left < min)
        return { kind: 'await-approval', reason: `it would leave ${left} running instance(s) of ${svc}, fewer than min_healthy ${min}` };
    }
  }
  if (g.recent >= g.maxPerMinute)
    return {
      kind: 'await-approval',
      reason: `${g.recent} reactions in the last minute: the rate limit (${g.maxPerMinute}/min) holds the rest for an operator`,
    };
  return { kind: 'apply' };
}
