/**
 * FlowTap contracts of one node as OpenFlow flows, in the two places the pipeline taps:
 * table 10 (chain `tap_eg_<port>`: what the port sends, `in_port`, before the firewall, so a
 * quarantined instance is still seen) and table 31 (chain `tap_in_<port>`: what the firewall
 * delivers to the port, `reg2` = its port number, once rewritten for it (MACs, TTL) as the port gets it).
 *
 * A forward outputs a copy to its monitor and the packet goes on; a redirect outputs it to its
 * monitor only (fail closed), or through a fast-failover group that goes on as if untapped while
 * the monitor's port is down (fail open). A budget is a meter: Open vSwitch takes no meter inside
 * `clone`, so a budgeted copy clones into table 15, where one flow per budget meters and outputs.
 * Overlapping contracts of one port get a flow per overlap with all their actions (openflow/cells).
 *
 * A monitor on another node gets its copies (or diversions) through the tap tunnel port to it
 * (layout.ts): the node's kernel carries them to the monitor's namespace.
 *
 * Inline (`inline`, as NodeDesired.inline): a redirect writes the redirect tag of nft/inline.ts
 * as the frame's source MAC after any copy is made, so the monitors (hold or queue mode) work
 * unchanged and the node knows what a frame passed back is (inline.ts: the return flows).
 *
 * A copy sampled by flow (one flow in N) takes the flow's symmetric hash (`multipath`, as nft's
 * `symhash`) inside a clone and is made in table 16 when the hash picks it.
 *
 * Not possible: a copy sampled by packet. OpenFlow has no random choice per packet, and its
 * `sample` action feeds IPFIX/sFlow collectors, not a monitor port; such a contract is refused,
 * saying to sample by flow. Not yet: a sampled redirect.
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { contractLocation, describeContract, intersect, printFlow, type FlowTap } from '../../flowtap/index.js';
import type { Addressing } from '../../model/index.js';
import type { RuleRef } from '../backend.js';
import { isMac, redirectTag, tapComment } from '../nft/index.js';
import { expandRanges, overlapCells } from '../openflow/index.js';
import type { OvsFlow, OvsObject } from './flows.js';
import { ofportOf, OVS_TABLES, tunnelOfportOf } from './layout.js';

export interface OvsTapsInput {
  contracts: readonly FlowTap[];
  addressing: Addressing;
  node: string;
  /** Instances with a port now (not terminated). */
  live: ReadonlySet<string>;
  downMonitors: ReadonlySet<string>;
  firstMeter: number;
  firstGroup: number;
  /** Redirects tag what they divert so their monitors can pass it back (nft/inline.ts). */
  inline?: boolean;
}

const BASE_PRIORITY = 100;
/** multipath's most links. */
const MAX_SAMPLE = 65536;
/** Sample ids in reg3 (table 16), apart from the meter ids budgets load into it (table 15). */
const FIRST_SAMPLE = 20001;

interface Piece {
  contract: FlowTap;
  side: 'egress' | 'ingress';
  port: number;
  /** The port as nft names it (chain names). */
  name: string;
}

export function ovsTaps(input: OvsTapsInput): { flows: OvsFlow[]; meters: OvsObject[]; groups: OvsObject[]; errors: Diagnostic[] } {
  const { addressing, node } = input;
  const errors: Diagnostic[] = [];
  const flows: OvsFlow[] = [];
  const meters: OvsObject[] = [];
  const groups: OvsObject[] = [];
  const meterOf = new Map<string, number>();
  /** Contract id -> N of its one flow in N (sampled copies). */
  const sampleOf = new Map<string, number>();
  const monitorPort = new Map<string, number>();
  const pieces: Piece[] = [];
  for (const c of input.contracts) {
    const src = addressing.instances[c.src];
    if (!src || src.node !== node || !input.live.has(c.src)) continue;
    const where = contractLocation(c);
    const name = describeContract(c);
    const mon = addressing.monitors[c.dst];
    if (!mon) {
      errors.push(diag('E_NFT_TAP_PORT', `${name}: monitor ${c.dst} has no attachment`, where));
      continue;
    }
    const sample = c.options?.sample;
    if (sample && sample.every !== 1) {
      const why =
        sample.unit === 'packet'
          ? 'OpenFlow has no random choice per packet (its sample action exports to IPFIX/sFlow collectors, not to a monitor port); sample by flow instead (unit flow: one flow in N, every packet of it copied)'
          : c.action === 'redirect'
            ? 'a sampled redirect is not built yet in the ovs backend (a sampled copy is)'
            : !Number.isInteger(sample.every) || sample.every < 2 || sample.every > MAX_SAMPLE
              ? `one flow in ${sample.every}: multipath picks among 2 to ${MAX_SAMPLE}`
              : undefined;
      if (why) {
        errors.push(diag('E_BACKEND_UNSUPPORTED', `${name}: option sample cannot be expressed by the ovs backend: ${why}`, where));
        continue;
      }
      sampleOf.set(c.id, sample.every);
    }
    if (input.inline && c.action === 'redirect' && !isMac(src.mac)) {
      errors.push(diag('E_NFT_TAP_PORT', `${name}: port ${src.port} of ${c.src} has no valid MAC address for inline redirect tags`, where));
      continue;
    }
    const b = c.options?.budget;
    if (b) {
      if (c.action === 'redirect' && c.options?.failMode === 'open') {
        errors.push(
          diag(
            'E_BACKEND_UNSUPPORTED',
            `${name}: option budget with failMode=open cannot be expressed by the ovs backend: a meter only drops the excess, which is failing closed`,
            where,
          ),
        );
        continue;
      }
      const rate = b.unit === 'pps' ? Math.floor(b.rate) : Math.floor(b.rate / 1000);
      if (rate < 1) {
        errors.push(
          diag(
            'E_BACKEND_UNSUPPORTED',
            `${name}: option budget of ${b.rate} ${b.unit} is below what an OpenFlow meter counts (1 packet/s, 1 kbit/s)`,
            where,
          ),
        );
        continue;
      }
      const id = input.firstMeter + meters.length;
      meters.push({ id, text: `meter=${id},${b.unit === 'pps' ? 'pktps' : 'kbps'},band=type=drop,rate=${rate}` });
      meterOf.set(c.id, id);
    }
    const sp = ofportOf(src.port);
    // A monitor on another node: its tap tunnel (what comes back by it: inline.ts).
    const mp = mon.node === node ? ofportOf(mon.port) : tunnelOfportOf(mon.port);
    if (!sp.ok || !mp.ok) {
      errors.push(...(sp.ok ? [] : sp.errors), ...(mp.ok ? [] : mp.errors));
      continue;
    }
    monitorPort.set(c.dst, mp.value);
    if (c.direction !== 'ingress') pieces.push({ contract: c, side: 'egress', port: sp.value, name: src.port });
    if (c.direction !== 'egress') pieces.push({ contract: c, side: 'ingress', port: sp.value, name: src.port });
  }

  /** Flows of tables 15 (budgets, by meter id) and 16 (samples, by sample id): the ids never meet. */
  const budgetFlows = new Map<number, OvsFlow>();
  const sampleIds = new Map<string, number>();
  const groupOf = new Map<string, number>();
  const actionsFor = (members: FlowTap[], side: Piece['side'], tapped: number): string => {
    const next = `resubmit(,${side === 'egress' ? OVS_TABLES.conntrack : OVS_TABLES.deliver})`;
    const redirect = members.find((c) => c.action === 'redirect');
    const seen = new Set<string>(redirect ? [redirect.dst] : []);
    const acts: string[] = [];
    // One copy per monitor: an unsampled contract's, when there is one, so the monitor gets every packet.
    const forwards = members.filter((c) => c.action === 'forward').sort((a, b) => Number(sampleOf.has(a.id)) - Number(sampleOf.has(b.id)));
    for (const c of forwards) {
      if (seen.has(c.dst) || input.downMonitors.has(c.dst)) continue;
      seen.add(c.dst);
      const m = monitorPort.get(c.dst)!;
      const meter = meterOf.get(c.id);
      const copy = meter === undefined ? `output:${m}` : `meter:${meter},output:${m}`;
      if (meter !== undefined)
        budgetFlows.set(meter, { table: OVS_TABLES.budget, priority: BASE_PRIORITY, match: `reg3=${meter}`, actions: copy });
      const every = sampleOf.get(c.id);
      if (every !== undefined) {
        // One flow in N, both directions alike (as nft's symhash): the flow's symmetric hash picks
        // one of N; the copy is made in table 16 when it is the first. Meters and multipath stay
        // inside clone, so the packet itself goes on untouched.
        let id = sampleIds.get(c.id);
        if (id === undefined) {
          id = FIRST_SAMPLE + sampleIds.size;
          sampleIds.set(c.id, id);
        }
        acts.push(
          `clone(multipath(symmetric_l3l4+udp,0,modulo_n,${every},0,NXM_NX_REG4[]),load:${id}->NXM_NX_REG3[],resubmit(,${OVS_TABLES.sample}))`,
        );
        budgetFlows.set(id, {
          table: OVS_TABLES.sample,
          priority: BASE_PRIORITY,
          match: `reg3=${id},reg4=0`,
          actions: meter === undefined ? copy : `load:${meter}->NXM_NX_REG3[],resubmit(,${OVS_TABLES.budget})`,
        });
      } else if (meter === undefined) acts.push(copy);
      else acts.push(`clone(load:${meter}->NXM_NX_REG3[],resubmit(,${OVS_TABLES.budget}))`);
    }
    // After the copies: they keep the frame's own source MAC.
    const tag =
      redirect && input.inline
        ? `mod_dl_src:${redirectTag(
            addressing.instances[redirect.src].mac,
            side === 'egress' ? 'sent' : 'delivered',
            redirect.options?.failMode === 'open' ? 'open' : 'closed',
          )},`
        : '';
    if (!redirect) acts.push(next);
    else if (redirect.options?.failMode === 'open') {
      if (input.downMonitors.has(redirect.dst)) acts.push(next);
      else {
        const m = monitorPort.get(redirect.dst)!;
        const key = `${m}|${next}|${tapped}|${tag}`;
        let id = groupOf.get(key);
        if (id === undefined) {
          id = input.firstGroup + groups.length;
          groupOf.set(key, id);
          // Every fast-failover bucket needs a port to watch: the fallback watches the tapped port,
          // which is up whenever a packet comes from it or goes to it.
          groups.push({
            id,
            text: `group_id=${id},type=fast_failover,bucket=watch_port:${m},actions=${tag}output:${m},bucket=watch_port:${tapped},actions=${next}`,
          });
        }
        acts.push(`group:${id}`);
      }
    } else if (!input.downMonitors.has(redirect.dst)) {
      const meter = meterOf.get(redirect.id);
      acts.push(`${meter !== undefined ? `meter:${meter},` : ''}${tag}output:${monitorPort.get(redirect.dst)}`);
    }
    return acts.length ? acts.join(',') : 'drop';
  };

  const bySide = new Map<string, Piece[]>();
  for (const p of pieces) bySide.set(`${p.side}|${p.port}`, [...(bySide.get(`${p.side}|${p.port}`) ?? []), p]);
  for (const list of bySide.values()) {
    const { side, port, name } = list[0];
    const own = side === 'egress' ? { in_port: { value: port, mask: 0xffff } } : {};
    const matches = list.map((p) => intersect(p.contract.flow, own));
    const usable = list.filter((_, i) => matches[i] !== null);
    const cells = overlapCells(
      matches.filter((m) => m !== null),
      10000,
    );
    if (cells === 'limit') {
      errors.push(diag('E_BACKEND_LIMIT', `the overlapping contracts of port ${name} need more than 10000 flows in the ovs backend`));
      continue;
    }
    const chain = `${side === 'egress' ? 'tap_eg' : 'tap_in'}_${name}`;
    for (const cell of cells) {
      const members = cell.members.map((i) => usable[i].contract);
      const rule: RuleRef = { table: 'flowtap_taps', chain, comment: members.map((c) => tapComment(c.id)).join(' + ') };
      const actions = actionsFor(members, side, port);
      for (const m of expandRanges(cell.match)) {
        const text = printFlow(m);
        const match = side === 'egress' ? text : `reg2=${port}${text ? `,${text}` : ''}`;
        flows.push({
          table: side === 'egress' ? OVS_TABLES.tapEgress : OVS_TABLES.tapIngress,
          priority: BASE_PRIORITY + cell.members.length - 1,
          match,
          actions,
          rule,
        });
      }
    }
  }
  flows.push(...budgetFlows.values());
  return { flows, meters, groups, errors };
}
