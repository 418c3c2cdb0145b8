/**
 * A notice as the controller reasons about it: the 'notice' record an agent shipped, with its
 * addresses resolved to the instances and services of the deployment in force (an address
 * that is not an instance's is outside the application), and the monitor's evidence unpacked.
 */
import { createHash } from 'node:crypto';
import type { BrokerRecord } from '../../broker/index.js';
import type { Addressing, App } from '../../model/index.js';
import { parseIpv4, parseIpv6 } from '../../net/index.js';

export interface Endpoint {
  ip?: string;
  /** The instance at that address, when it is one of the application's. */
  instance?: string;
  service?: string;
}

export interface NoticeView {
  /** Stable over re-deliveries: the same notice from the bus and from the store has the same id. */
  id: string;
  /** The monitor's time of the notice (ms). */
  ts: number;
  note: string;
  msg: string;
  monitor: string;
  /** The offending connection's uid: the provenance that leads back to the monitor's rows. */
  uid?: string;
  src: Endpoint;
  dst: Endpoint;
  port?: number;
  /** The offending connection's source port, when the monitor wrote one. */
  srcPort?: number;
  /** The monitor's structured evidence (Evidence in src/monitor/policy), scalars only. */
  evidence: Record<string, string | number>;
  /** When the agent read the row (ms), when it says. */
  seenAt?: number;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Instance and service by address, for the deployment in force: built once per addressing, not per notice. */
export type InstancesByIp = ReadonlyMap<string, { instance: string; service: string }>;

export function instancesByIp(app: App, addressing: Addressing): InstancesByIp {
  const byIp = new Map<string, { instance: string; service: string }>();
  for (const i of app.instances) {
    const a = addressing.instances[i.name];
    if (a) byIp.set(a.ip, { instance: i.name, service: i.service });
  }
  return byIp;
}

/** Null for a record that is not a notice or has no note: it is counted and skipped by the caller. */
export function noticeView(r: BrokerRecord, byIp: InstancesByIp): NoticeView | null {
  if (r.kind !== 'notice') return null;
  const d = r.data;
  const note = str(d.note);
  if (!note) return null;
  const evidence: Record<string, string | number> = {};
  let given: unknown = d.evidence;
  const sub = str(d.sub);
  if ((typeof given !== 'object' || given === null) && sub?.startsWith('{')) {
    try {
      given = JSON.parse(sub);
    } catch {
      // Evidence the monitor could not write whole is left out; the notice itself still counts.
    }
  }
  if (typeof given === 'object' && given !== null)
    for (const [k, v] of Object.entries(given))
      if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) evidence[k] = v;
      else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) evidence[k] = v.join(',');
  const endpoint = (v: unknown): Endpoint => {
    const ip = str(v);
    // Not an address (`*`: a flood from every source together): no endpoint a rule could act on.
    if (!ip || (parseIpv4(ip) === undefined && parseIpv6(ip) === undefined)) return {};
    const at = byIp.get(ip);
    return at ? { ip, ...at } : { ip };
  };
  const uid = r.provenance ?? str(d.uid);
  const port = typeof d.p === 'number' ? d.p : typeof evidence.port === 'number' ? evidence.port : undefined;
  const monitor = str(d.monitor) ?? '';
  const id = `n-${createHash('sha256')
    .update(JSON.stringify([r.ts, note, monitor, uid ?? '', d.src ?? '', d.dst ?? '', d.msg ?? '']))
    .digest('hex')
    .slice(0, 16)}`;
  return {
    id,
    ts: r.ts,
    note,
    msg: str(d.msg) ?? '',
    monitor,
    ...(uid ? { uid } : {}),
    src: endpoint(d.src),
    dst: endpoint(d.dst),
    ...(port !== undefined ? { port } : {}),
    ...(typeof d.sp === 'number' ? { srcPort: d.sp } : {}),
    evidence,
    ...(typeof d.seenAt === 'number' ? { seenAt: d.seenAt } : {}),
  };
}
