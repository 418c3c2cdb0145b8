/**
 * Test helpers of the broker (tests and bench/ only): realistic records, as the agents of a
 * DVD-rental deployment ship them — monitor rows (conn, http, sql) keeping their connection uid
 * as provenance, connection table entries, rule and tap counters, interface statistics, instance
 * logs, system calls — with field sizes as they come from the monitor and the kernel. Seeded, so
 * runs compare. The shared suite that every store and bus passes is in suite.ts.
 */
import type { BrokerRecord } from '../record.js';

export const SYNTHETIC_SERVICES = [
  'contract-update',
  'user-create',
  'user-update',
  'dvd-update',
  'dvd-return',
  'shipping',
  'db',
  'mq',
] as const;

export interface SyntheticOptions {
  tenant?: string;
  app?: string;
  seed?: number;
  /** Timestamp of the first record, and the spacing of the next ones (ms; may be fractional). */
  start?: number;
  stepMs?: number;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const URIS = ['/users', '/users/{id}', '/contracts/{id}', '/dvds/{id}/return', '/dvds/{id}', '/shipments'];
const QUERIES = [
  'SELECT film_id, title, rental_rate FROM film WHERE film_id = $1',
  'UPDATE rental SET return_date = now() WHERE rental_id = $1 AND customer_id = $2',
  'INSERT INTO customer (store_id, first_name, last_name, email, address_id) VALUES ($1, $2, $3, $4, $5) RETURNING customer_id',
];

interface Instance {
  service: string;
  instance: string;
  node: string;
  ip: string;
}

/** An endless, deterministic source of records for one application. */
export class SyntheticRecords {
  private readonly r: () => number;
  private readonly start: number;
  private k = 0;
  private readonly step: number;
  private readonly tenant: string;
  private readonly app: string;
  private readonly instances: Instance[] = [];

  constructor(opts: SyntheticOptions = {}) {
    this.r = rng(opts.seed ?? 20240611);
    this.start = opts.start ?? Date.UTC(2024, 5, 11);
    this.step = opts.stepMs ?? 1;
    this.tenant = opts.tenant ?? 'acme';
    this.app = opts.app ?? 'dvd-rental';
    let k = 0;
    for (const service of SYNTHETIC_SERVICES) {
      const replicas = service === 'db' || service === 'mq' ? 1 : 2;
      for (let i = 0; i < replicas; i++, k++)
        this.instances.push({ service, instance: `${service}-${i}`, node: `node${(k % 3) + 1}`, ip: `10.0.${(k % 3) + 1}.${10 + k}` });
    }
  }

  private int(max: number): number {
    return Math.floor(this.r() * max);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  private uid(): string {
    let s = 'C';
    for (let i = 0; i < 17; i++) s += UID_CHARS[this.int(UID_CHARS.length)];
    return s;
  }

  /** The time of the next record; advances by the step. */
  get now(): number {
    return this.start + Math.floor(this.k * this.step);
  }

  // Literal objects with a fixed key order, as code or JSON.parse builds them (spreads would
  // make slow dictionary objects, and the benchmark would measure the generator's style).
  private rec(ts: number, at: Instance, kind: BrokerRecord['kind'], data: Record<string, unknown>, provenance?: string): BrokerRecord {
    if (provenance === undefined)
      return { ts, kind, tenant: this.tenant, app: this.app, node: at.node, service: at.service, instance: at.instance, data };
    return { ts, kind, tenant: this.tenant, app: this.app, node: at.node, service: at.service, instance: at.instance, provenance, data };
  }

  next(): BrokerRecord {
    const at = this.pick(this.instances);
    const peer = this.pick(this.instances);
    // Whole milliseconds even for a fractional step (10M records over a day).
    const ts = this.now;
    this.k++;
    const roll = this.r();
    const sport = 32768 + this.int(28000);
    const port = at.service === 'db' ? 5432 : at.service === 'mq' ? 4222 : 8080;
    if (roll < 0.35) {
      const uid = this.uid();
      const which = this.r();
      if (which < 0.5)
        return this.rec(
          ts,
          at,
          'monitor-log',
          {
            log: 'conn',
            uid,
            'id.orig_h': peer.ip,
            'id.orig_p': sport,
            'id.resp_h': at.ip,
            'id.resp_p': port,
            proto: 'tcp',
            service: at.service === 'db' ? 'postgresql' : at.service === 'mq' ? 'nats' : 'http',
            duration: Math.round(this.r() * 200000) / 1e6,
            orig_bytes: 200 + this.int(2000),
            resp_bytes: 300 + this.int(20000),
            conn_state: this.r() < 0.95 ? 'SF' : 'REJ',
            missed_bytes: 0,
            history: 'ShADadFf',
            orig_pkts: 4 + this.int(20),
            orig_ip_bytes: 500 + this.int(3000),
            resp_pkts: 4 + this.int(30),
            resp_ip_bytes: 600 + this.int(25000),
          },
          uid,
        );
      if (which < 0.85)
        return this.rec(
          ts,
          at,
          'monitor-log',
          {
            log: 'http',
            uid,
            'id.orig_h': peer.ip,
            'id.orig_p': sport,
            'id.resp_h': at.ip,
            'id.resp_p': port,
            trans_depth: 1,
            method: this.pick(['GET', 'POST', 'PUT', 'DELETE']),
            host: `${at.service}:8080`,
            uri: this.pick(URIS).replace('{id}', String(this.int(100000))),
            version: '1.1',
            user_agent: 'dvd-loadgen/1.0 (node)',
            request_body_len: this.int(600),
            response_body_len: this.int(4000),
            status_code: this.r() < 0.97 ? 200 : 404,
            status_msg: 'OK',
            resp_mime_types: ['application/json'],
          },
          uid,
        );
      return this.rec(
        ts,
        at,
        'monitor-log',
        {
          log: 'sql',
          uid,
          'id.orig_h': peer.ip,
          'id.orig_p': sport,
          'id.resp_h': at.ip,
          'id.resp_p': port,
          user: 'dvdrental',
          database: 'dvdrental',
          command: 'Parse/Bind/Execute',
          query: this.pick(QUERIES),
          params: [String(this.int(100000))],
          rows: this.int(3),
          error: null,
        },
        uid,
      );
    }
    if (roll < 0.6)
      return this.rec(ts, at, 'flow', {
        proto: 'tcp',
        src: peer.ip,
        sport,
        dst: at.ip,
        dport: port,
        state: this.pick(['ESTABLISHED', 'TIME_WAIT', 'CLOSE', 'SYN_SENT']),
        orig_packets: this.int(1000),
        orig_bytes: this.int(1_000_000),
        reply_packets: this.int(1000),
        reply_bytes: this.int(5_000_000),
        mark: 0,
        zone: 0,
        timeout: this.int(432000),
        assured: true,
      });
    if (roll < 0.8) {
      const tap = this.r() < 0.3;
      return this.rec(ts, at, 'counter', {
        target: tap ? 'tap' : 'rule',
        name: tap ? `tap ${at.instance} -> monitor-${at.node}` : `allow ${peer.service} -> ${at.service}:${port}`,
        table: 'inet flowtap',
        chain: tap ? 'tap_ingress' : 'forward',
        handle: 10 + this.int(400),
        packets: this.int(10_000_000),
        bytes: this.int(2_000_000_000),
        drops: this.int(10),
      });
    }
    if (roll < 0.88)
      return this.rec(ts, at, 'interface', {
        ifname: `v-${at.instance}`.slice(0, 15),
        rx_bytes: this.int(2_000_000_000),
        rx_packets: this.int(10_000_000),
        rx_errors: 0,
        rx_dropped: this.int(5),
        tx_bytes: this.int(2_000_000_000),
        tx_packets: this.int(10_000_000),
        tx_errors: 0,
        tx_dropped: 0,
      });
    if (roll < 0.98)
      return this.rec(ts, at, 'log', {
        stream: 'stdout',
        line: `${new Date(ts).toISOString()} INFO ${this.pick(['POST', 'GET', 'PUT'])} ${this.pick(URIS).replace('{id}', String(this.int(100000)))} ${this.pick([200, 201, 204])} ${(this.r() * 20).toFixed(1)}ms request_id=${this.uid()}`,
      });
    return this.rec(ts, at, 'syscall', {
      syscall: this.pick(['connect', 'execve', 'openat', 'sendto', 'recvfrom']),
      count: 1 + this.int(5000),
      comm: this.pick(['node', 'postgres', 'nats-server']),
      pid: 100 + this.int(30000),
      cgroup: `/flowtap/${this.app}/${at.instance}`,
    });
  }

  batch(n: number): BrokerRecord[] {
    const out: BrokerRecord[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next();
    return out;
  }
}
