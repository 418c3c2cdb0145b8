/**
 * Level 2: the node's connection table. Both `conntrack -L -o extended` and
 * /proc/net/nf_conntrack print one flow per line — `ipv4 2 tcp 6 TIMEOUT [STATE] orig-tuple
 * [flags] reply-tuple [flags] mark=.. [zone=..] use=..` — so one parser reads either. Per-flow
 * packets and bytes need `nf_conntrack_acct`, which the collector switches on in the node's
 * namespace when it starts (it counts from then on, for new flows).
 */
import type { Collector, CollectResult, Draft } from './collector.js';
import type { NodeAccess } from './netns.js';
import type { InstanceSpec } from './options.js';

export interface Tuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  /** ICMP's type, code and id stand where ports are. */
  type?: number;
  code?: number;
  id?: number;
  packets?: number;
  bytes?: number;
}

export interface Flow {
  l3: string;
  proto: string;
  timeout: number;
  state?: string;
  orig: Tuple;
  reply: Tuple;
  /** ASSURED, UNREPLIED, ... */
  flags: string[];
  mark?: number;
  zone?: number;
}

const NUMERIC = new Set(['sport', 'dport', 'type', 'code', 'id', 'packets', 'bytes']);

export function parseConntrackLine(line: string): Flow | null {
  const f = line.trim().split(/\s+/);
  if (f.length < 6 || !/^ipv[46]$/.test(f[0])) return null;
  const flow: Flow = { l3: f[0], proto: f[2], timeout: Number(f[4]), orig: { src: '', dst: '' }, reply: { src: '', dst: '' }, flags: [] };
  let i = 5;
  if (!f[i].includes('=') && !f[i].startsWith('[')) flow.state = f[i++];
  let tuple: Tuple | null = null;
  let tuples = 0;
  for (; i < f.length; i++) {
    const tok = f[i];
    if (tok.startsWith('[')) {
      flow.flags.push(tok.slice(1, -1));
      continue;
    }
    const eq = tok.indexOf('=');
    if (eq < 0) continue;
    const k = tok.slice(0, eq);
    const v = tok.slice(eq + 1);
    if (k === 'src') {
      tuples++;
      tuple = tuples === 1 ? flow.orig : tuples === 2 ? flow.reply : null;
    }
    if (k === 'mark') flow.mark = Number(v);
    else if (k === 'zone') flow.zone = Number(v);
    else if (tuple && (k === 'src' || k === 'dst')) tuple[k] = v;
    else if (tuple && NUMERIC.has(k)) (tuple as unknown as Record<string, number>)[k] = Number(v);
  }
  return tuples >= 2 ? flow : null;
}

export function parseConntrack(text: string): Flow[] {
  const out: Flow[] = [];
  for (const line of text.split('\n')) {
    const f = parseConntrackLine(line);
    if (f) out.push(f);
  }
  return out;
}

/** One name for a connection across dumps: protocol and the original direction's tuple. */
export function flowKey(f: Flow): string {
  const o = f.orig;
  const ports = o.sport !== undefined ? `${o.sport}>${o.dst}:${o.dport}` : `${o.type ?? ''}/${o.code ?? ''}/${o.id ?? ''}>${o.dst}`;
  return `ct:${f.proto}:${o.src}:${ports}`;
}

interface Seen {
  /** The line without what changes by itself (timeout, reference count). */
  sig: string;
  flow: Flow;
}

/**
 * A line's connection (protocol and original tuple) and its signature — the line without the
 * timeout counting down and the reference count — found without parsing it: most of a busy
 * table is connections in TIME_WAIT that do not change, and parsing each of them each period
 * is most of what reading the table costs.
 */
export function cutConntrackLine(line: string): { key: string; sig: string } | null {
  if (!line.startsWith('ipv')) return null;
  let i = 0;
  let protoStart = 0;
  let protoEnd = 0;
  for (let field = 0; field < 5; field++) {
    while (line.charCodeAt(i) === 32) i++;
    const start = i;
    while (i < line.length && line.charCodeAt(i) !== 32) i++;
    if (field === 2) {
      protoStart = start;
      protoEnd = i;
    }
  }
  let rest = line.slice(i);
  const use = rest.lastIndexOf(' use=');
  if (use >= 0) rest = rest.slice(0, use);
  const src = rest.indexOf('src=');
  if (src < 0) return null;
  let end = rest.indexOf(' src=', src + 4);
  if (end < 0) end = rest.length;
  for (const stop of [' packets=', ' [']) {
    const at = rest.indexOf(stop, src);
    if (at >= 0 && at < end) end = at;
  }
  return { key: `${line.slice(protoStart, protoEnd)} ${rest.slice(src, end)}`, sig: rest };
}

function flowData(f: Flow, ended: boolean): Record<string, unknown> {
  return {
    proto: f.proto,
    ...(f.state ? { state: f.state } : {}),
    src: f.orig.src,
    dst: f.orig.dst,
    ...(f.orig.sport !== undefined ? { sport: f.orig.sport, dport: f.orig.dport } : {}),
    ...(f.orig.type !== undefined ? { icmpType: f.orig.type, icmpCode: f.orig.code, icmpId: f.orig.id } : {}),
    origPackets: f.orig.packets ?? null,
    origBytes: f.orig.bytes ?? null,
    replyPackets: f.reply.packets ?? null,
    replyBytes: f.reply.bytes ?? null,
    flags: f.flags,
    ...(f.mark ? { mark: f.mark } : {}),
    ...(ended ? { ended: true } : { timeout: f.timeout }),
  };
}

/**
 * Records for flows that are new or changed (state, counts, flags) since the previous dump,
 * and one last record (`ended`) for flows that left the table. Only new and changed lines are
 * parsed.
 */
export function flowDrafts(previous: Map<string, Seen>, table: string, byIp: Map<string, InstanceSpec>): Draft[] {
  const out: Draft[] = [];
  const now = new Map<string, Seen>();
  const about = (f: Flow) => {
    const inst = byIp.get(f.orig.src) ?? byIp.get(f.orig.dst);
    return inst ? { instance: inst.name, service: inst.service } : {};
  };
  for (const line of table.split('\n')) {
    const cut = cutConntrackLine(line);
    // The node's own loopback carries only the agent's way to its broker (see the relay): not context.
    if (!cut || cut.key.includes(' src=127.')) continue;
    const before = previous.get(cut.key);
    if (before && before.sig === cut.sig) {
      now.set(cut.key, before);
      continue;
    }
    const flow = parseConntrackLine(line);
    if (!flow) continue;
    now.set(cut.key, { sig: cut.sig, flow });
    out.push({ kind: 'flow', ...about(flow), provenance: flowKey(flow), data: flowData(flow, false) });
  }
  for (const [key, s] of previous)
    if (!now.has(key)) out.push({ kind: 'flow', ...about(s.flow), provenance: flowKey(s.flow), data: flowData(s.flow, true) });
  previous.clear();
  for (const [k, v] of now) previous.set(k, v);
  return out;
}

export function flowsCollector(node: NodeAccess, instances: InstanceSpec[]): Collector {
  const previous = new Map<string, Seen>();
  const byIp = new Map(instances.filter((i) => i.ip).map((i) => [i.ip!, i]));
  let acctError: string | undefined;
  return {
    name: 'flows',
    async start() {
      previous.clear();
      const r = await node.run(['sysctl', '-q', '-w', 'net.netfilter.nf_conntrack_acct=1']);
      acctError = r.code === 0 ? undefined : `cannot switch on conntrack accounting: ${r.stderr.trim() || `exit ${r.code}`}`;
    },
    async collect(): Promise<CollectResult> {
      const errors = acctError ? [acctError] : [];
      let text = await node.readProcNet('nf_conntrack');
      if (text === null) {
        const r = await node.run(['conntrack', '-L', '-o', 'extended']);
        if (r.code !== 0) return { records: [], errors: [...errors, `conntrack -L: ${r.stderr.trim() || `exit ${r.code}`}`] };
        text = r.stdout;
      }
      return { records: flowDrafts(previous, text, byIp), errors };
    },
  };
}
