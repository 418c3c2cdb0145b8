/**
 * The agent's subjects on the bus. Tenant, app and node are tokens of the subject, so the
 * controller can listen to one node, one app or everything with NATS-style wildcards:
 *
 *   flowtap.<tenant>.<app>.control.<node>         verbosity changes for one node's agent
 *   flowtap.<tenant>.<app>.control._all           verbosity changes for every agent of the app
 *   flowtap.<tenant>.<app>.config.<node>          configuration pushed to one node (versioned)
 *   flowtap.<tenant>.<app>.records.<node>.<kind>  records the agent shipped (a batch per message)
 */
import type { RecordKind } from '../broker/index.js';

/** The node token that addresses every agent of an app. */
export const ALL_NODES = '_all';

/** Subject tokens may not contain `.`, wildcards or white space; anything else passes. */
export function subjectToken(s: string): string {
  const t = s.replace(/[.*>\s]/g, '_');
  return t === '' ? '_' : t;
}

const base = (tenant: string, app: string) => `flowtap.${subjectToken(tenant)}.${subjectToken(app)}`;

export const controlSubject = (tenant: string, app: string, node: string = ALL_NODES) =>
  `${base(tenant, app)}.control.${subjectToken(node)}`;
/** What an agent subscribes to: its node's and every node's changes, in one ordered stream. */
export const controlPattern = (tenant: string, app: string) => `${base(tenant, app)}.control.*`;
export const configSubject = (tenant: string, app: string, node: string) => `${base(tenant, app)}.config.${subjectToken(node)}`;
export const recordsSubject = (tenant: string, app: string, node: string, kind: RecordKind) =>
  `${base(tenant, app)}.records.${subjectToken(node)}.${kind}`;
/** Records of one kind from every node of an app (what the controller follows notices on). */
export const recordsPattern = (tenant: string, app: string, kind: RecordKind) => `${base(tenant, app)}.records.*.${kind}`;
/** Another party's subject under an app's root: `flowtap.<tenant>.<app>.<name>` (the controller's `admin`). */
export const appSubject = (tenant: string, app: string, name: string) => `${base(tenant, app)}.${subjectToken(name)}`;
