/**
 * What the controller, `flowtap verbosity` and the API call: publish a change to one agent or all
 * of an app's, and wait for the agents' acknowledgements.
 */
import type { MessageBus, RecordStore } from '../broker/index.js';
import { diag, fail, ok, type Result } from '../diagnostics/index.js';
import { parseConfigPush, type ConfigPush } from './config-push.js';
import { parseVerbosity, type VerbositySetting } from './settings.js';
import { configSubject, controlSubject } from './subjects.js';

export interface AgentTarget {
  tenant: string;
  app: string;
  /** One node's agent; none = every agent of the app. */
  node?: string;
}

/** Checks the change before it goes out (an agent would reject it anyway, later and elsewhere); returns the subject. */
export async function setVerbosity(bus: MessageBus, target: AgentTarget, setting: VerbositySetting): Promise<Result<string>> {
  const checked = parseVerbosity(setting);
  if (!checked.ok) return checked;
  const subject = controlSubject(target.tenant, target.app, target.node);
  await bus.publish(subject, checked.value);
  return ok(subject);
}

export async function pushConfig(bus: MessageBus, target: Required<AgentTarget>, push: ConfigPush): Promise<Result<string>> {
  if (!target.node) return fail(diag('E_AGENT_CONFIG', 'a configuration push goes to one node', { field: 'node' }));
  const checked = parseConfigPush(push);
  if (!checked.ok) return checked;
  const subject = configSubject(target.tenant, target.app, target.node);
  await bus.publish(subject, checked.value);
  return ok(subject);
}

/** An agent's acknowledgement of one verbosity change (its 'config' record). */
export interface VerbosityAnswer {
  node: string;
  outcome: string;
  settings?: Record<string, { level: number; periodMs: number; active?: boolean; instances?: string[]; kinds?: string[] }>;
  errors?: string[];
  ts: number;
}

/**
 * Waits (until `deadline`, ms) for every target node's acknowledgement of the change `id`:
 * the 'config' record its agent writes. Reads only records after `afterId` (what was stored
 * before the change went out), by the change's id alone: no kind filter, since a reader may
 * not know every kind a newer agent writes.
 */
export async function verbosityAnswers(
  store: RecordStore,
  at: { tenant: string; app: string },
  id: string,
  targets: readonly string[],
  afterId: number,
  deadline: number,
  pollMs = 100,
): Promise<Map<string, VerbosityAnswer>> {
  const answers = new Map<string, VerbosityAnswer>();
  let after = afterId;
  while (answers.size < targets.length && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, pollMs));
    const found = await store.query({ tenant: at.tenant, app: at.app, text: id, afterId: after, order: 'asc' });
    for (const r of found) {
      after = Math.max(after, r.id);
      const data = r.data as Record<string, unknown>;
      if (r.kind !== 'config' || data.what !== 'verbosity' || data.id !== id || !r.node || !targets.includes(r.node)) continue;
      answers.set(r.node, {
        node: r.node,
        outcome: String(data.outcome),
        ts: r.ts,
        ...(data.settings ? { settings: data.settings as VerbosityAnswer['settings'] } : {}),
        ...(Array.isArray(data.errors) ? { errors: data.errors as string[] } : {}),
      });
    }
  }
  return answers;
}
