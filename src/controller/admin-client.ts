/**
 * Asking a deployment's security controller from another process (`flowtap approve|undo|keep`,
 * `flowtap verify --live`, the API): a request on the admin subject, answered by the record the
 * controller writes with the request's id — a 'reaction' step, a 'config' record (reconfigure)
 * or an 'audit' record (an acknowledgement, or a refusal with its code). Waiting is bounded: no
 * answer means no controller serves the deployment.
 */
import { randomBytes } from 'node:crypto';
import type { Broker, RecordStore, StoredRecord } from '../broker/index.js';
import { adminSubject, type AdminRequest } from './controller.js';
import type { Reaction } from './reaction/index.js';

/** A request id: unique enough to be searched for as text among the records. */
export function adminRequestId(prefix: string): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Publishes the request and waits (at most `timeoutMs`) for the record that answers it: the
 * first carrying its id, or the first `final` accepts (a request answered in steps); null when
 * none came.
 */
export async function askController(
  broker: Broker,
  at: { tenant: string; app: string },
  req: AdminRequest,
  timeoutMs: number,
  final: (r: StoredRecord) => boolean = () => true,
  pollMs = 100,
): Promise<StoredRecord | null> {
  const { tenant, app } = at;
  // The answer comes after what is stored now.
  const after = (await broker.store.query({ tenant, app, order: 'desc', limit: 1 }))[0]?.id ?? 0;
  await broker.bus.publish(adminSubject(tenant, app), req);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answers = await broker.store.query({ tenant, app, kinds: ['reaction', 'audit', 'config'], afterId: after, text: req.request });
    const answer = answers.find((a) => a.data.request === req.request && final(a));
    if (answer) return answer;
    await sleep(pollMs);
  }
  return null;
}

/** How an operator's decision on a reaction went. */
export type ReactionDecision =
  /** The controller carried it out: `event` is the step it led to (`failed` when the action did not go in). */
  | { kind: 'answered'; request: string; event: string; reaction: Reaction }
  /** The controller refused it (unknown reaction, wrong state), with its code. */
  | { kind: 'refused'; request: string; code: string; error: string }
  /** Nobody answered in time: no controller runs. */
  | { kind: 'silent'; request: string };

/**
 * Approve, undo or keep a reaction. An approval is followed (bounded, up to `settleMs`) past
 * 'approved' to the step that says whether the action then went in.
 */
export async function decideReaction(
  broker: Broker,
  at: { tenant: string; app: string },
  op: 'approve' | 'undo' | 'keep',
  reaction: string,
  by: string,
  timeoutMs: number,
  settleMs = 15_000,
): Promise<ReactionDecision> {
  const request = adminRequestId('q');
  const answer = await askController(broker, at, { request, op, reaction, by }, timeoutMs);
  if (!answer) return { kind: 'silent', request };
  if (answer.kind !== 'reaction') return { kind: 'refused', request, code: String(answer.data.code), error: String(answer.data.error) };
  let r = answer.data.reaction as Reaction;
  let event = String(answer.data.event);
  if (event === 'approved') ({ r, event } = await settle(broker.store, at, answer.id, r, settleMs));
  return { kind: 'answered', request, event, reaction: r };
}

/** Approval is the decision; what counts is whether the action then went in. */
async function settle(
  store: RecordStore,
  at: { tenant: string; app: string },
  afterId: number,
  start: Reaction,
  settleMs: number,
): Promise<{ r: Reaction; event: string }> {
  let r = start;
  let event = 'approved';
  const deadline = Date.now() + settleMs;
  while (event === 'approved' && Date.now() < deadline) {
    await sleep(100);
    const next = (await store.query({ tenant: at.tenant, app: at.app, kinds: ['reaction'], afterId, text: r.id })).find(
      (x) => (x.data.reaction as Reaction | undefined)?.id === r.id,
    );
    if (next) {
      r = next.data.reaction as Reaction;
      event = String(next.data.event);
    }
  }
  return { r, event };
}
