/**
 * Provenance: the chain of records from a connection to what was done about it. One id leads to
 * the rest — a reaction id (`r-…`), a notice id (`n-…`) or a connection uid (a monitor's `C…`):
 *
 *   connection (the monitor's rows with that uid) → notice (as the agent shipped it) →
 *   reaction(s): the rule that fired and its derivation, the guardrails' decision and blast
 *   radius, the rules installed (with their handles), the orchestrator's events, the
 *   confirmation, and any undo or expiry.
 */
import type { RecordStore, StoredRecord } from '../broker/index.js';
import type { Reaction } from './reaction/index.js';

export interface WhyChain {
  /** The id asked about and what it turned out to be. */
  asked: string;
  found: 'reaction' | 'notice' | 'connection' | 'nothing';
  uid?: string;
  noticeIds: string[];
  /** The monitor's rows of the connection (conn/http/sql/... as 'monitor-log' records). */
  connection: StoredRecord[];
  /** The notice records the agents shipped for the connection. */
  notices: StoredRecord[];
  /** Every step of every reaction to those notices, in order. */
  steps: StoredRecord[];
  /** Orchestrator events the reactions caused. */
  events: StoredRecord[];
}

const LIMIT = 1000;

async function byText(store: RecordStore, q: Parameters<RecordStore['query']>[0]): Promise<StoredRecord[]> {
  return store.query({ ...q, limit: LIMIT });
}

export async function whyChain(store: RecordStore, tenant: string, app: string, id: string): Promise<WhyChain> {
  const scope = { tenant, app };
  const chain: WhyChain = { asked: id, found: 'nothing', noticeIds: [], connection: [], notices: [], steps: [], events: [] };
  let steps: StoredRecord[] = [];
  if (id.startsWith('r-')) {
    steps = (await byText(store, { ...scope, kinds: ['reaction'], text: `"id":"${id}"` })).filter((r) => reactionOf(r)?.id === id);
    if (steps.length) chain.found = 'reaction';
  } else if (id.startsWith('n-')) {
    steps = await byText(store, { ...scope, kinds: ['reaction'], provenance: id });
    if (steps.length) chain.found = 'notice';
  }
  if (chain.found === 'nothing') {
    // A connection uid: its notices, then every reaction that answers one of them.
    const notices = await byText(store, { ...scope, kinds: ['notice'], provenance: id });
    steps = (await byText(store, { ...scope, kinds: ['reaction'], text: `"uid":"${id}"` })).filter((r) => reactionOf(r)?.uid === id);
    if (notices.length || steps.length) chain.found = 'connection';
    chain.uid = id;
  }
  chain.steps = steps;
  chain.noticeIds = [...new Set(steps.map((s) => s.provenance).filter((p): p is string => typeof p === 'string'))];
  chain.uid ??= steps.map((s) => reactionOf(s)?.uid).find((u) => typeof u === 'string');
  if (chain.uid) {
    const rows = await byText(store, { ...scope, provenance: chain.uid });
    chain.connection = rows.filter((r) => r.kind === 'monitor-log');
    chain.notices = rows.filter((r) => r.kind === 'notice');
  }
  const reactionIds = [...new Set(steps.map((s) => reactionOf(s)?.id).filter((x): x is string => typeof x === 'string'))];
  for (const rid of reactionIds) chain.events.push(...(await byText(store, { ...scope, kinds: ['lifecycle'], provenance: rid })));
  return chain;
}

export function reactionOf(r: StoredRecord): Reaction | undefined {
  const x = r.data.reaction;
  return x && typeof x === 'object' && typeof (x as Reaction).id === 'string' ? (x as Reaction) : undefined;
}
