import type { Requirement } from '../../model/index.js';
import type { ConnId } from './notice.js';

/**
 * A verdict the policies took on one request (or on a connection as a whole), as it is taken.
 * Notices are rate-limited and raised only for violations; an inline monitor needs every
 * verdict, allowed ones included, at the moment the server could act on the request.
 */
export interface Decision {
  ts: number;
  uid: string;
  id: ConnId;
  kind: 'connection' | 'http' | 'sql' | 'nats';
  /** `GET /x`, the SQL text, `PUB subject`, `tcp connection`. */
  request: string;
  allowed: boolean;
  /** The requirement that allows it, or what the policy expected instead. */
  reason: string;
}

export type DecisionSink = (d: Decision) => void;

/** `external -> web:http (req 0)`. */
export function describeRequirements(rs: readonly Requirement[]): string {
  return rs.map((r) => `${r.from} -> ${r.to}:${r.port} (req ${r.id})`).join('; ');
}
