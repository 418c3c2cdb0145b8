import type { Dir } from '../stream/index.js';

export type NatsHeader = [name: string, value: string];

/** The client's CONNECT options; secrets (pass, auth_token, jwt, nkey, sig) are only noted as present. */
interface NatsConnect {
  ts: number;
  name: string;
  user: string;
  lang: string;
  version: string;
  protocol: number | null;
  verbose: boolean;
  pedantic: boolean;
  headers: boolean;
  echo: boolean;
  tlsRequired: boolean;
  hasPassword: boolean;
  hasToken: boolean;
  hasJwt: boolean;
  hasNkey: boolean;
}

interface NatsInfo {
  ts: number;
  serverId: string;
  serverName: string;
  version: string;
  host: string;
  port: number | null;
  headers: boolean;
  maxPayload: number | null;
  proto: number | null;
  authRequired: boolean;
  tlsRequired: boolean;
  tlsAvailable: boolean;
  clientId: number | null;
  clientIp: string;
  /** Every field as sent (INFO carries no secrets). */
  raw: Record<string, unknown>;
}

/** PUB/HPUB from a client. */
export interface NatsPub {
  ts: number;
  subject: string;
  reply: string;
  /** Total bytes after the control line, headers included. */
  size: number;
  headerSize: number;
  /** Status of the header block (`NATS/1.0 503` → `503`), '' if none. */
  status: string;
  headers: NatsHeader[];
  /** First bytes of the payload after the headers (a copy). */
  payloadPrefix: Uint8Array;
  /** Bytes of this message were lost to a gap. */
  incomplete: boolean;
}

/** MSG/HMSG from the server. */
export interface NatsMsg extends NatsPub {
  sid: string;
}

export interface NatsSink {
  connect?(info: NatsConnect): void;
  info?(info: NatsInfo): void;
  pub?(m: NatsPub): void;
  sub?(s: { ts: number; subject: string; queue: string; sid: string }): void;
  unsub?(u: { ts: number; sid: string; max: number | null }): void;
  msg?(m: NatsMsg): void;
  ok?(ts: number): void;
  err?(message: string, ts: number): void;
  ping?(dir: Dir, ts: number): void;
  pong?(dir: Dir, ts: number): void;
  /** A TLS record where a protocol line was due: the rest is encrypted and parsing stops. */
  tls?(dir: Dir, ts: number): void;
  weird?(name: string, detail: string, dir: Dir, ts: number): void;
}

export interface NatsOptions {
  /** Bytes of each payload kept for `payloadPrefix`. */
  payloadPrefixBytes: number;
  /** Longest control line; beyond it the direction is abandoned (the server's own limit is 4 KiB by default). */
  maxControlLine: number;
  /** Largest payload believed; the server default is 1 MiB and its hard maximum 64 MiB. */
  maxPayload: number;
  /** Header blocks above this are counted but not parsed. */
  maxHeaderBytes: number;
}

export const DEFAULT_NATS_OPTIONS: NatsOptions = {
  payloadPrefixBytes: 4096,
  maxControlLine: 64 * 1024,
  maxPayload: 64 * 1024 * 1024,
  maxHeaderBytes: 64 * 1024,
};

export const NATS_WEIRDS = {
  lineTooLong: 'nats_line_too_long',
  unknownOp: 'nats_unknown_operation',
  unexpectedOp: 'nats_operation_wrong_direction',
  badArgs: 'nats_bad_arguments',
  badSize: 'nats_bad_size',
  payloadTooLarge: 'nats_payload_too_large',
  badSubject: 'nats_bad_subject',
  wildcardPublish: 'nats_wildcard_in_publish',
  badJson: 'nats_bad_json',
  badHeaders: 'nats_bad_headers',
  headersTooLarge: 'nats_headers_too_large',
  missingTerminator: 'nats_missing_payload_terminator',
  contentGap: 'nats_content_gap',
  gapLostSync: 'nats_gap_lost_sync',
  truncated: 'nats_truncated_at_end',
} as const;
