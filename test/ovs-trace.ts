/**
 * Open vSwitch's `ofproto/trace` as the simulator's oracle for the Open vSwitch backend: packets
 * as OVS reads them, the switch's control socket spoken to directly (one connection, requests
 * pipelined: an `ovs-appctl` process per packet costs ~10 ms), the datapath actions a trace ends
 * with read back as OpenFlow ports, and what the simulator's trace says the bridge must output.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, type PacketSpec } from '../src/flowtap/index.js';
import type { SimCtState, SimTrace } from '../src/dataplane/index.js';

const OVS_RUNDIR = process.env.OVS_RUNDIR || '/var/run/openvswitch';

/** ovs-vswitchd's unixctl socket, as ovs-appctl finds it (its pid file). */
export function vswitchdSocket(): string {
  const pid = readFileSync(join(OVS_RUNDIR, 'ovs-vswitchd.pid'), 'utf8').trim();
  return join(OVS_RUNDIR, `ovs-vswitchd.${pid}.ctl`);
}

/**
 * JSON-RPC over the unixctl socket, what ovs-appctl sends: {method, params, id} in, {result,
 * error, id} out, objects back to back with no framing, so replies are split by brace depth.
 */
export class Unixctl {
  private buf = '';
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (s: string) => void; reject: (e: Error) => void }>();

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.take(d));
    sock.on('error', (e) => this.failAll(e));
    sock.on('close', () => this.failAll(new Error('ovs-vswitchd closed its control socket')));
  }

  static open(path = vswitchdSocket()): Promise<Unixctl> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('connect', () => resolve(new Unixctl(s)));
      s.once('error', reject);
    });
  }

  call(method: string, params: string[]): Promise<string> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.sock.write(JSON.stringify({ method, params, id }));
    });
  }

  close(): void {
    this.sock.end();
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }

  private take(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const end = objectEnd(this.buf);
      if (end < 0) return;
      const msg = JSON.parse(this.buf.slice(0, end)) as { id: number; result: string | null; error: string | null };
      this.buf = this.buf.slice(end).trimStart();
      const w = this.waiting.get(msg.id);
      if (!w) continue;
      this.waiting.delete(msg.id);
      if (msg.error !== null) w.reject(new Error(String(msg.error).trim()));
      else w.resolve(msg.result ?? '');
    }
  }
}

/** Where the first complete JSON object of `s` ends, or -1. */
function objectEnd(s: string): number {
  let depth = 0;
  let str = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (str) {
      if (c === '\\') i++;
      else if (c === '"') str = false;
    } else if (c === '"') str = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

const hex = (n: number) => `0x${n.toString(16)}`;
const mac = (words: readonly number[]) =>
  words
    .flatMap((w) => [w >> 8, w & 0xff])
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
const ipv4 = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
const PROTO_NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };

/** MAC text as PacketSpec holds it: three 16-bit words. */
export function macWords(text: string): number[] {
  const b = text.split(':').map((x) => Number.parseInt(x, 16));
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3], (b[4] << 8) | b[5]];
}

/**
 * The packet as ofproto/trace takes an exact flow: every field spelled out (a field left out is
 * 0 there, TTL included), transport ports under their protocol's own names (trace refuses
 * `tp_src`), none in a later fragment, where OVS reads no transport header.
 */
export function traceFlow(pkt: PacketSpec, inPort: number): string {
  const out = [`in_port=${inPort}`, `dl_src=${mac(pkt.dl_src)}`, `dl_dst=${mac(pkt.dl_dst)}`];
  if (pkt.vlan_tci) out.push(`vlan_tci=${hex(pkt.vlan_tci)}`);
  if (pkt.dl_type === ETH_TYPE_IP) {
    const name = PROTO_NAMES[pkt.nw_proto];
    out.push(name ?? `ip,nw_proto=${pkt.nw_proto}`);
    out.push(`nw_src=${ipv4(pkt.nw_src)}`, `nw_dst=${ipv4(pkt.nw_dst)}`, `nw_tos=${pkt.nw_tos & 0xfc}`, `nw_ecn=${pkt.nw_ecn}`);
    out.push(`nw_ttl=${pkt.nw_ttl}`, `nw_frag=${pkt.ip_frag === 0 ? 'no' : pkt.ip_frag & 2 ? 'later' : 'first'}`);
    if (!(pkt.ip_frag & 2)) {
      if (name === 'tcp' || name === 'udp' || name === 'sctp') out.push(`${name}_src=${pkt.tp_src}`, `${name}_dst=${pkt.tp_dst}`);
      if (name === 'tcp') out.push(`tcp_flags=${hex(pkt.tcp_flags)}`);
      if (name === 'icmp') out.push(`icmp_type=${pkt.icmp_type}`, `icmp_code=${pkt.icmp_code}`);
    }
  } else if (pkt.dl_type === ETH_TYPE_ARP) {
    out.push('arp', `arp_op=${pkt.arp_op}`, `arp_spa=${ipv4(pkt.arp_spa)}`, `arp_tpa=${ipv4(pkt.arp_tpa)}`);
  } else if (pkt.dl_type === ETH_TYPE_IPV6) out.push('ipv6');
  else out.push(`dl_type=${hex(pkt.dl_type)}`);
  return out.join(',');
}

/** The simulator's conntrack state as the trace resumes after `ct()`. */
export function ctNext(state: SimCtState): string {
  return { new: 'trk,new', established: 'trk,est', related: 'trk,rel', invalid: 'trk,inv' }[state];
}

/** Datapath port -> OpenFlow port of one bridge, from `dpif/show`. */
export function datapathPorts(dpifShow: string, bridge: string): Map<number, number> {
  const out = new Map<number, number>();
  let mine = false;
  for (const line of dpifShow.split('\n')) {
    const header = /^ {2}(\S+):$/.exec(line);
    if (header) {
      mine = header[1] === bridge;
      continue;
    }
    const m = /^ {4}\S+ (\d+)\/(\d+):/.exec(line);
    if (mine && m) out.set(Number(m[2]), Number(m[1]));
  }
  return out;
}

/** What a trace did: the ports output before conntrack, whether it reached `ct()`, the ports output after. */
export interface TracedOutputs {
  before: number[];
  tracked: boolean;
  after: number[];
}

/** Top-level actions of a datapath action list. */
function splitActions(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

/** Output ports of an action list, into clones; controller (an exception) and meters output nothing. */
function outputs(actions: string, ports: Map<number, number>, into: number[]): boolean {
  let ct = false;
  for (const a of splitActions(actions)) {
    if (/^\d+$/.test(a)) {
      const p = ports.get(Number(a));
      if (p === undefined) throw new Error(`datapath port ${a} is not on the bridge`);
      into.push(p);
    } else if (a.startsWith('clone(')) ct = outputs(a.slice(6, -1), ports, into) || ct;
    else if (a.startsWith('ct(') && !a.includes('commit')) ct = true;
  }
  return ct;
}

/** Reads a trace's "Datapath actions" lines: the first pass, then the one resumed after conntrack. */
export function tracedOutputs(trace: string, ports: Map<number, number>): TracedOutputs {
  const lines = trace
    .split('\n')
    .filter((l) => l.startsWith('Datapath actions: '))
    .map((l) => l.slice('Datapath actions: '.length));
  if (!lines.length) throw new Error(`a trace without datapath actions:\n${trace}`);
  const before: number[] = [];
  const after: number[] = [];
  const tracked = outputs(lines[0], ports, before);
  if (tracked && lines.length < 2) throw new Error(`a trace that reached ct() was not resumed:\n${trace}`);
  for (const l of lines.slice(1)) outputs(l, ports, after);
  return { before: uniq(before), tracked, after: uniq(after) };
}

const uniq = (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b);

/** How the bridge under test names what the simulator names. */
export interface BridgeView {
  node: string;
  gateway: number;
  portOf(instanceOrMonitor: string): number;
}

/**
 * What the simulator says the node's bridge outputs for a packet that enters it first (the
 * trace's first hop is on the node): before
 * conntrack, the copies and diversions of what an instance sends (its egress taps); after, the
 * copies and diversions of what a local instance gets, the delivery, and the gateway port when
 * the node's firewall let it leave for another node or the underlay (a frame an inline monitor
 * passed back counts as after: it re-enters the bridge past conntrack's first pass, see
 * ovs/inline.ts). `afterKnown` is false for a
 * fragment (see the test's list of intentional differences).
 */
export function simulatedOutputs(t: SimTrace, v: BridgeView): { before: number[]; after: number[]; afterKnown: boolean } {
  const before: number[] = [];
  const after: number[] = [];
  const first = t.hops[0];
  for (const c of t.copies) if (c.node === v.node) (c.hook === 'ingress' ? before : after).push(v.portOf(c.monitor));
  for (const d of t.diversions) if (d.node === v.node) (d.hook === 'ingress' ? before : after).push(v.portOf(d.monitor));
  if (t.outcome.kind === 'delivered' && t.outcome.node === v.node) after.push(v.portOf(t.outcome.instance));
  // Routed by its sender's node: on the first hop, or, passed back by an inline monitor there, on its return.
  for (const h of t.hops) {
    if (h.node !== v.node || (h !== first && !h.passedBack)) continue;
    if (h === first && t.from.kind !== 'instance') continue;
    const route = h.route;
    if ((route?.kind === 'vxlan' || route?.kind === 'uplink') && h.firewall?.verdict === 'accept') after.push(v.gateway);
  }
  return { before: uniq(before), after: uniq(after), afterKnown: t.packet.dl_type !== ETH_TYPE_IP || t.packet.ip_frag === 0 };
}
