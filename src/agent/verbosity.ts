/** What the controller and `flowtap verbosity` call: publish a change to one agent or all of an app's. */
import type { MessageBus } from '../broker/index.js';
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
