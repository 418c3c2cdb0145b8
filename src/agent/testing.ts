/**
 * Test helpers of the agent: outputs captured on a Debian 12 machine (kernel 6.18, nft 1.0.6,
 * iproute2, conntrack 1.4.7, bpftrace 0.17) from a node namespace with one instance namespace
 * behind a veth (10.199.0.1 node, 10.199.0.2 instance) after a few TCP connections, pings and
 * a UDP datagram; and in-memory fakes of the broker's store and bus.
 */
import { PassThrough } from 'node:stream';
import type { BrokerRecord, RecordKind, StoredRecord } from '../broker/index.js';
import type {
  BusMessage,
  MessageBus,
  RecordQuery,
  RecordStore,
  RetentionPolicy,
  RetentionReport,
  StoreStats,
  SubscribeOptions,
  Subscription,
} from '../broker/index.js';
import { RecordingSystem, type SpawnOptions, type Spawned, type ExitStatus } from '../system/index.js';
import type { CpuReader } from './cost.js';
import type { NetnsProbe } from './netns.js';

/** `nft -j list table inet flowtap` in the node namespace. */
export const NFT_INET_JSON =
  '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "flowtap", "handle": 1}}, {"chain": {"family": "inet", "table": "flowtap", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "flowtap", "chain": "input", "handle": 2, "comment": "established", "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"counter": {"packets": 13, "bytes": 729}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "flowtap", "chain": "input", "handle": 3, "comment": "allow inst -> node:8080", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}}, {"counter": {"packets": 3, "bytes": 180}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "flowtap", "chain": "input", "handle": 4, "comment": "default", "expr": [{"counter": {"packets": 1, "bytes": 84}}]}}]}';

/** `nft -j list table netdev flowtap_taps` (a tap rule on the instance's port). */
export const NFT_TAPS_JSON =
  '{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "netdev", "name": "flowtap_taps", "handle": 2}}, {"chain": {"family": "netdev", "table": "flowtap_taps", "name": "ingress_h7v0", "handle": 1, "type": "filter", "hook": "ingress", "prio": 0, "policy": "accept"}}, {"rule": {"family": "netdev", "table": "flowtap_taps", "chain": "ingress_h7v0", "handle": 2, "comment": "tap inst->mon", "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 8080}}, {"counter": {"packets": 15, "bytes": 825}}]}}]}';

/** `ip -s -j link` in the node namespace. */
export const IP_LINK_JSON =
  '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","stats64":{"rx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":0,"packets":0,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}},{"ifindex":6,"link_index":5,"ifname":"h7v0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1500,"qdisc":"noqueue","operstate":"UP","linkmode":"DEFAULT","group":"default","txqlen":1000,"link_type":"ether","address":"02:a0:09:e2:ea:21","broadcast":"ff:ff:ff:ff:ff:ff","link_netnsid":1,"stats64":{"rx":{"bytes":1789,"packets":24,"errors":0,"dropped":0,"over_errors":0,"multicast":0},"tx":{"bytes":1372,"packets":18,"errors":0,"dropped":0,"carrier_errors":0,"collisions":0}}}]';

/** /proc/net/dev read in the node namespace, same moment. */
export const PROC_NET_DEV =
  'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n  h7v0:    1789      24    0    0    0     0          0         0     1372      18    0    0    0     0       0          0\n';

/** `conntrack -L -o extended` (accounting on): three closed TCP connections and a ping. */
export const CONNTRACK_EXTENDED =
  'ipv4     2 tcp      6 117 TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47986 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47986 packets=3 bytes=164 [ASSURED] mark=0 use=1\nipv4     2 icmp     1 29 src=10.199.0.2 dst=10.199.0.1 type=8 code=0 id=18097 packets=2 bytes=168 src=10.199.0.1 dst=10.199.0.2 type=0 code=0 id=18097 packets=2 bytes=168 mark=0 use=1\nipv4     2 tcp      6 118 TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47990 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47990 packets=3 bytes=164 [ASSURED] mark=0 use=1\nipv4     2 tcp      6 116 TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47982 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47982 packets=3 bytes=164 [ASSURED] mark=0 use=1\n';

/** `conntrack -L -o extended`: a connection open at the time, and the UDP datagram. */
export const CONNTRACK_ESTABLISHED =
  'ipv4     2 tcp      6 431998 ESTABLISHED src=10.199.0.2 dst=10.199.0.1 sport=53868 dport=7070 packets=2 bytes=112 src=10.199.0.1 dst=10.199.0.2 sport=7070 dport=53868 packets=1 bytes=60 [ASSURED] mark=0 use=1\nipv4     2 udp      17 26 src=10.199.0.2 dst=10.199.0.1 sport=43950 dport=5353 packets=1 bytes=31 [UNREPLIED] src=10.199.0.1 dst=10.199.0.2 sport=5353 dport=43950 packets=0 bytes=0 mark=0 use=1\n';

/** `conntrack -L -o extended`: a UDP datagram without an answer. */
export const CONNTRACK_UDP =
  'ipv4     2 udp      17 29 src=10.199.0.2 dst=10.199.0.1 sport=43950 dport=5353 packets=1 bytes=31 [UNREPLIED] src=10.199.0.1 dst=10.199.0.2 sport=5353 dport=43950 packets=0 bytes=0 mark=0 use=1\n';

/** /proc/net/nf_conntrack of the node namespace (the same flows, with zone=). */
export const PROC_NF_CONNTRACK =
  'ipv4     2 tcp      6 117 TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47986 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47986 packets=3 bytes=164 [ASSURED] mark=0 zone=0 use=2\nipv4     2 icmp     1 29 src=10.199.0.2 dst=10.199.0.1 type=8 code=0 id=18097 packets=2 bytes=168 src=10.199.0.1 dst=10.199.0.2 type=0 code=0 id=18097 packets=2 bytes=168 mark=0 zone=0 use=2\nipv4     2 tcp      6 118 TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47990 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47990 packets=3 bytes=164 [ASSURED] mark=0 zone=0 use=2\nipv4     2 tcp      6 116 TIME_WAIT src=10.199.0.2 dst=10.199.0.1 sport=47982 dport=8080 packets=5 bytes=275 src=10.199.0.1 dst=10.199.0.2 sport=8080 dport=47982 packets=3 bytes=164 [ASSURED] mark=0 zone=0 use=2\n';

/** The instance namespace's inode in the bpftrace capture. */
export const BPF_INUM = 4026532239;

/** `bpftrace -f json` of the agent's program (interval 1 s) while the instance ran two `nc` connects. */
export const BPFTRACE_JSON =
  '{"type": "attached_probes", "data": {"probes": 4}}\n{"type": "printf", "data": "exec 4026532239 21132 /usr/bin/sh\\n"}\n{"type": "printf", "data": "exec 4026532239 21134 /usr/bin/timeout\\n"}\n{"type": "printf", "data": "exec 4026532239 21135 /usr/bin/nc\\n"}\n{"type": "printf", "data": "exec 4026532239 21137 /usr/bin/timeout\\n"}\n{"type": "printf", "data": "exec 4026532239 21138 /usr/bin/nc\\n"}\n{"type": "map", "data": {"@sys": {"4026532239,272": 1, "4026532239,104": 1, "4026532239,110": 1, "4026532239,39": 1, "4026532239,166": 1, "4026532239,102": 1, "4026532239,108": 1, "4026532239,1": 2, "4026532239,202": 2, "4026532239,107": 2, "4026532239,222": 2, "4026532239,130": 2, "4026532239,270": 2, "4026532239,8": 2, "4026532239,109": 2, "4026532239,223": 2, "4026532239,293": 2, "4026532239,165": 2, "4026532239,55": 2, "4026532239,33": 4, "4026532239,318": 5, "4026532239,218": 5, "4026532239,302": 5, "4026532239,334": 5, "4026532239,158": 5, "4026532239,21": 5, "4026532239,14": 6, "4026532239,72": 6, "4026532239,41": 6, "4026532239,15": 6, "4026532239,56": 6, "4026532239,42": 6, "4026532239,11": 7, "4026532239,231": 7, "4026532239,61": 10, "4026532239,17": 10, "4026532239,273": 11, "4026532239,12": 15, "4026532239,10": 21, "4026532239,59": 29, "4026532239,0": 29, "4026532239,13": 31, "4026532239,3": 75, "4026532239,9": 96, "4026532239,262": 157, "4026532239,257": 167}}}\n{"type": "map", "data": {"@connect": {"4026532239,nc,10.199.0.1,8080": 1, "4026532239,nc,10.199.0.1,8081": 1}}}\n\n\n';

/** Keeps records in memory; `failing` makes every append throw (a broker that is down). */
export class MemoryStore implements RecordStore {
  readonly records: StoredRecord[] = [];
  failing = false;
  appends = 0;
  failures = 0;
  private nextId = 1;

  async append(records: BrokerRecord[]): Promise<void> {
    this.appends++;
    if (this.failing) {
      this.failures++;
      throw new Error('connection refused');
    }
    for (const r of records) this.records.push({ ...structuredClone(r), id: this.nextId++ });
  }

  async query(q: RecordQuery): Promise<StoredRecord[]> {
    return this.records.filter(
      (r) =>
        (q.kinds === undefined || q.kinds.includes(r.kind)) &&
        (q.instance === undefined || r.instance === q.instance) &&
        (q.from === undefined || r.ts >= q.from) &&
        (q.to === undefined || r.ts < q.to) &&
        (q.afterId === undefined || r.id > q.afterId),
    );
  }

  async retain(_p: RetentionPolicy): Promise<RetentionReport> {
    return { droppedByAge: 0, droppedBySize: 0 };
  }

  async stats(): Promise<StoreStats> {
    return { records: this.records.length, bytes: 0, droppedByAge: 0, droppedBySize: 0, appended: this.records.length };
  }

  async close(): Promise<void> {}

  of(kind: RecordKind): StoredRecord[] {
    return this.records.filter((r) => r.kind === kind);
  }
}

/** NATS-style matching: `*` one token, `>` the rest. */
function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length || (p[i] !== '*' && p[i] !== s[i])) return false;
  }
  return p.length === s.length;
}

/** An in-process bus with replay from a time; handlers run one message at a time, in order. */
export class MemoryBus implements MessageBus {
  readonly log: BusMessage[] = [];
  failing = false;
  private seq = 0;
  private subs = new Set<{ pattern: string; handler: (m: BusMessage) => void | Promise<void> }>();

  constructor(private readonly now: () => number = Date.now) {}

  async publish(subject: string, data: unknown): Promise<void> {
    if (this.failing) throw new Error('bus unreachable');
    const m: BusMessage = { subject, seq: ++this.seq, ts: this.now(), data: structuredClone(data) };
    this.log.push(m);
    for (const s of [...this.subs]) if (subjectMatches(s.pattern, subject)) await s.handler(m);
  }

  async subscribe(pattern: string, handler: (m: BusMessage) => void | Promise<void>, opts: SubscribeOptions = {}): Promise<Subscription> {
    const sub = { pattern, handler };
    if (opts.fromTime !== undefined)
      for (const m of this.log) if (m.ts >= opts.fromTime && subjectMatches(pattern, m.subject)) await handler(m);
    this.subs.add(sub);
    return { unsubscribe: async () => void this.subs.delete(sub) };
  }

  async close(): Promise<void> {
    this.subs.clear();
  }

  on(pattern: string): BusMessage[] {
    return this.log.filter((m) => subjectMatches(pattern, m.subject));
  }
}

/** A CPU clock the test moves by hand. */
export class FakeCpu implements CpuReader {
  selfUs = 0;
  reapedUs = 0;
  readonly pids = new Map<number, number>();
  readonly bpfUs = new Map<number, number>();
  self(): number {
    return this.selfUs;
  }
  reaped(): number {
    return this.reapedUs;
  }
  pid(pid: number): number | null {
    return this.pids.get(pid) ?? null;
  }
  bpf(pid: number): number | null {
    return this.bpfUs.get(pid) ?? null;
  }
}

export function fakeNetns(named: Record<string, number>, own = 1): NetnsProbe {
  return { named: (n) => named[n] ?? null, own: () => own };
}

/** A recording system whose spawned children's output the test writes (a bpftrace that prints what the test says). */
export class StreamingSystem extends RecordingSystem {
  readonly children: { argv: string[]; stdout: PassThrough; stderr: PassThrough; exit: (s: ExitStatus) => void; killed: boolean }[] = [];
  private pidSeq = 5000;

  override spawn(argv: string[], opts: SpawnOptions = {}): Spawned {
    super.spawn(argv, opts);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let exit: (s: ExitStatus) => void = () => {};
    const exited = new Promise<ExitStatus>((r) => (exit = r));
    const child = { argv, stdout, stderr, exit, killed: false };
    this.children.push(child);
    return {
      pid: this.pidSeq++,
      stdin: null,
      stdout,
      stderr,
      exited,
      startError: Promise.resolve(null),
      kill: () => {
        child.killed = true;
        exit({ code: null, signal: 'SIGTERM' });
      },
    };
  }
}
