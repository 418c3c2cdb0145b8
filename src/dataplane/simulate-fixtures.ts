/**
 * The DVD-rental deployment for the simulator's tests: descriptor, default addressing, inferred
 * firewall and the example policies compiled to contracts, plus packet builders.
 */
import { readFileSync } from 'node:fs';
import { inferFirewall, type Ruleset } from '../firewall/index.js';
import { compileTaps, parsePacketSpec, type FlowTap, type PacketSpec } from '../flowtap/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../model/index.js';

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
