/**
 * Failures as values, and the Kubernetes `Status` object they are sent as. A failure is a
 * Diagnostic (code, message, location) plus the Status `details` that clients read: client-go's
 * `IsNotFound` and friends look at reason and code, kubectl prints the message.
 */
import type { Diagnostic } from '../../diagnostics/index.js';
import { type KapiCode, STATUS_OF } from './codes.js';

export interface StatusDetails {
  name?: string;
  group?: string;
  /** The resource's plural name, as the real server puts it (`pods`, `deployments`). */
  kind?: string;
}

export interface KubeFailure extends Diagnostic {
  code: KapiCode;
  details?: StatusDetails;
}

/** Like the project's Result, with the single failure a request ends with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: KubeFailure };

export function failure(code: KapiCode, message: string, details?: StatusDetails, field?: string): KubeFailure {
  const f: KubeFailure = { code, message };
  if (details) f.details = details;
  if (field) f.loc = { field };
  return f;
}

export const refuse = <T = never>(code: KapiCode, message: string, details?: StatusDetails, field?: string): Outcome<T> => ({
  ok: false,
  error: failure(code, message, details, field),
});

export const accept = <T>(value: T): Outcome<T> => ({ ok: true, value });

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export function statusObject(f: KubeFailure): StatusObject {
  const { reason, code } = STATUS_OF[f.code];
  const s: StatusObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: f.message, reason, code };
  if (f.details) s.details = f.details;
  return s;
}

/** `pods "web" not found`, the wording kubectl users know. */
export function notFound(plural: string, group: string, name: string): KubeFailure {
  return failure('E_KAPI_NOT_FOUND', `${qualified(plural, group)} "${name}" not found`, { name, group, kind: plural });
}

/** `deployments.apps`: the resource as the real server names it in messages. */
export function qualified(plural: string, group: string): string {
  return group ? `${plural}.${group}` : plural;
}
