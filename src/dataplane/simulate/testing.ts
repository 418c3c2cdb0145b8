/**
 * The DVD-rental deployment for the simulator's tests: descriptor, default addressing, inferred
 * firewall and the example policies compiled to contracts, plus packet builders, and an inline
 * policy whose redirects go to a monitor on the tapped port's node.
 */
import { readFileSync } from 'node:fs';
import { inferFirewall, type Ruleset } from '../../firewall/index.js';
import { compileTaps, parsePacketSpec, type FlowTap, type PacketSpec } from '../../flowtap/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../../model/index.js';

export const DVD = 'examples/dvd-rental';

export interface Deployment {
  app: App;
  addressing: Addressing;
  ruleset: Ruleset;
}

export function dvdRental(): Deployment {
  const r = loadApp(`${DVD}/app.yaml`);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return { app: r.value, addressing: planAddresses(r.value), ruleset: inferFirewall(r.value) };
}

/**
 * Same-node inline redirects on dvd-rental: mon-http is on node1 with user-create and
 * contract-update (the honeypot's mon-honeypot is on node2, dvd-return on node1: cross-node).
 */
export const SAME_NODE_INLINE_POLICY = `
// Requests to user-create's HTTP (and its replies) through mon-http; nothing passes while it is down.
tap(I, "mon-http", "tcp,tp_dst=8080", "redirect") :- instance(I, "user-create", _).
tap_failmode(I, "tcp,tp_dst=8080", "closed") :- instance(I, "user-create", _).
// user-create's database requests, diverted as they leave: the database is on node2.
tap(I, "mon-http", "tcp,tp_dst=5432", "redirect") :- instance(I, "user-create", _).
tap_direction(I, "tcp,tp_dst=5432", "egress") :- instance(I, "user-create", _).
// Whatever UDP user-create sends: the monitor has no request to judge in it.
tap(I, "mon-http", "udp", "redirect") :- instance(I, "user-create", _).
tap_direction(I, "udp", "egress") :- instance(I, "user-create", _).
// contract-update's calls to port 8080 (user-update, on node1), fail open.
tap(I, "mon-http", "tcp,tp_dst=8080", "redirect") :- instance(I, "contract-update", _).
tap_direction(I, "tcp,tp_dst=8080", "egress") :- instance(I, "contract-update", _).
tap_failmode(I, "tcp,tp_dst=8080", "open") :- instance(I, "contract-update", _).
`;

/** Contracts compiled from policy texts (file name, text). */
export function policyContracts(d: Deployment, sources: { file: string; text: string }[]): FlowTap[] {
  const r = compileTaps(d.app, d.addressing, sources);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value.contracts;
}

/** Contracts compiled from examples/dvd-rental/policies/<name>.dl. */
export function dvdContracts(d: Deployment, ...policies: string[]): FlowTap[] {
  const sources = policies.map((p) => ({ file: `${DVD}/policies/${p}.dl`, text: readFileSync(`${DVD}/policies/${p}.dl`, 'utf8') }));
  const r = compileTaps(d.app, d.addressing, sources);
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  return r.value.contracts;
}

export function packet(text: string): PacketSpec {
  const r = parsePacketSpec(text);
  if (!r.ok) throw new Error(`${text}: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.value;
}

/** A TCP SYN (or `proto` datagram) between two instances' addresses. */
export function between(d: Deployment, src: string, dst: string, port: number, proto: 'tcp' | 'udp' = 'tcp', extra = ''): PacketSpec {
  const s = d.addressing.instances[src].ip;
  const t = Object.hasOwn(d.addressing.instances, dst) ? d.addressing.instances[dst].ip : dst;
  return packet(`${proto},nw_src=${s},nw_dst=${t},tp_src=40000,tp_dst=${port}${proto === 'tcp' ? ',tcp_flags=0x002' : ''}${extra}`);
}
