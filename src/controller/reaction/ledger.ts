/**
 * The reactions' ledger: every step of a reaction is a 'reaction' record (provenance: the notice
 * it answers), and the current state of every reaction is the fold of its records. The
 * controller keeps no other memory, so a restarted controller rebuilds exactly what was in
 * force, waiting or due to expire from the broker.
 */
import type { BrokerRecord, StoredRecord } from '../../broker/index.js';
import { actionInstance, type Action } from './action.js';
import type { Cut } from './guardrails.js';

export type ReactionState =
  /** Recorded what would be done; nothing applied (dry run). */
  | 'dry-run'
  | 'awaiting-approval'
  /** In force: the action's rules are installed and read back. */
  | 'applied'
  /** In force, and the offending flow was seen to stop. */
  | 'confirmed'
  | 'undone'
  | 'expired'
  | 'failed'
  | 'refused';

/** How to take an action back; redeploy has none. */
export type Inverse =
  | { kind: 'release'; instance: string }
  | { kind: 'unrestrict'; id: string }
  | { kind: 'verbosity'; node: string; level: number }
  | { kind: 'policies'; policies: string[] }
  | { kind: 'sampling'; sampledMonitors: Record<string, number> };

export type ReactionEvent =
  | 'proposed'
  | 'dry-run'
  | 'awaiting-approval'
  | 'approved'
  | 'applied'
  | 'confirmed'
  | 'unconfirmed'
  | 'kept'
  | 'undone'
  | 'expired'
  | 'failed'
  | 'refused';

/** An installed rule the action put in force, as the data plane reads it back. */
export interface InstalledRule {
  node: string;
  table: string;
  chain: string;
  comment: string;
  handle?: number;
  packets: number;
}

export interface Reaction {
  id: string;
  /** The action in words, as the CLI and the dashboard show it (written here once, not in each). */
  description?: string;
  /**
   * The deployment it belongs to (when it was made): an application deployed anew starts with
   * no reaction in force, whatever the broker remembers of the one before.
   */
  deployment: string;
  /** The notice it answers (NoticeView.id) and that notice's connection uid. */
  notice: string;
  uid?: string;
  note: string;
  action: Action;
  state: ReactionState;
  rule: string;
  derivation: string;
  blastRadius: Cut[];
  reason?: string;
  createdAt: number;
  appliedAt?: number;
  /** After this (ms), the reaction is undone unless kept. */
  expiresAt?: number;
  kept?: boolean;
  inverse?: Inverse;
  installed?: InstalledRule[];
}

/** The record of one step; `data.reaction` is the reaction as it stands after the step. */
export function reactionRecord(
  at: { tenant: string; app: string; ts: number },
  r: Reaction,
  event: ReactionEvent,
  extra: Record<string, unknown> = {},
): BrokerRecord {
  const instance = actionInstance(r.action);
  return {
    ts: at.ts,
    kind: 'reaction',
    tenant: at.tenant,
    app: at.app,
    ...(instance ? { instance } : {}),
    provenance: r.notice,
    data: { event, reaction: { ...r }, ...extra },
  };
}

const STATES = new Set<string>(['dry-run', 'awaiting-approval', 'applied', 'confirmed', 'undone', 'expired', 'failed', 'refused']);

/** The reactions as their records leave them, in the order they were first recorded; of one deployment when given. */
export function foldReactions(records: readonly StoredRecord[], deployment?: string): Map<string, Reaction> {
  const out = new Map<string, Reaction>();
  for (const rec of records) {
    if (rec.kind !== 'reaction') continue;
    const r = rec.data.reaction as Reaction | undefined;
    if (!r || typeof r.id !== 'string' || typeof r.state !== 'string' || !STATES.has(r.state) || typeof r.action !== 'object') continue;
    if (deployment !== undefined && r.deployment !== deployment) continue;
    out.set(r.id, r);
  }
  return out;
}

/** Still in force or still to be decided: what a new reaction with the same action would duplicate. */
export function isActive(r: Reaction): boolean {
  return r.state === 'applied' || r.state === 'confirmed' || r.state === 'awaiting-approval';
}
