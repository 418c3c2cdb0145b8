/** Notice types raised by flowtap's policies (Zeek's `Notice::Type`, namespaced like Zeek's). */
export const NoticeType = {
  UNAUTHORIZED_CONNECTION: 'FlowTap::Unauthorized_Connection',
  DISALLOWED_HTTP_REQUEST: 'FlowTap::Disallowed_HTTP_Request',
  DISALLOWED_SQL: 'FlowTap::Disallowed_SQL',
  DISALLOWED_NATS_SUBJECT: 'FlowTap::Disallowed_NATS_Subject',
  IDENTITY_MISMATCH: 'FlowTap::Identity_Mismatch',
  UNATTRIBUTED_REQUEST: 'FlowTap::Unattributed_Request',
  SYN_FLOOD: 'FlowTap::SYN_Flood',
  MONITOR_OVERLOAD: 'FlowTap::Monitor_Overload',
  PROTOCOL_MISMATCH: 'FlowTap::Protocol_Mismatch',
  HTTP_REQUEST_SMUGGLING: 'FlowTap::HTTP_Request_Smuggling',
} as const;

export type NoticeTypeName = (typeof NoticeType)[keyof typeof NoticeType];

/** The 5-tuple of a connection as Zeek logs it. */
export interface ConnId {
  origH: string;
  origP: number;
  respH: string;
  respP: number;
  /** `tcp`, `udp`, `icmp`. */
  proto: string;
}

/**
 * Why a notice was raised, in a form programs can act on: the connection(s), the request that
 * broke the policy, what the policy expected and what was seen.
 */
export interface Evidence {
  /** uid of the offending connection (and of the connections it was compared with). */
  uids: string[];
  /** Source and destination as the model knows them (service or `external`, instance when known). */
  src?: string;
  dst?: string;
  port?: number;
  /** The offending request: `POST /users/7/bill`, `SELECT ...`, `PUB rentals.deleted`. */
  request?: string;
  expected: string | string[];
  seen: string | string[];
  /** Free-form details (counts, windows). */
  [more: string]: unknown;
}

export interface Notice {
  ts: number;
  note: NoticeTypeName;
  msg: string;
  /** The connection the notice is about, when there is one. */
  uid?: string;
  id?: ConnId;
  src?: string;
  dst?: string;
  p?: number;
  /** A count (half-open connections, unattributed requests). */
  n?: number;
  /** Seconds further notices with the same identifier are suppressed. */
  suppressFor?: number;
  evidence: Evidence;
}

export type NoticeSink = (n: Notice) => void;
