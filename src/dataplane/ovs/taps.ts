/**
 * FlowTap contracts of one node as OpenFlow flows, in the two places the pipeline taps:
 * table 10 (chain `tap_eg_<port>`: what the port sends, `in_port`, before the firewall, so a
 * quarantined instance is still seen) and table 31 (chain `tap_in_<port>`: what the firewall
 * delivers to the port, `reg2` = its port number, before the frame is rewritten for it).
 *
 * A forward outputs a copy to its monitor and the packet goes on; a redirect outputs it to its
 * monitor only (fail closed), or through a fast-failover group that goes on as if untapped while
 * the monitor's port is down (fail open). A budget is a meter: Open vSwitch takes no meter inside
 * `clone`, so a budgeted copy clones into table 15, where one flow per budget meters and outputs.
 * Overlapping contracts of one port get a flow per overlap with all their actions (openflow/cells).
 *
 * Not yet: sampling (OpenFlow's `sample` exports to IPFIX, not to a port), monitors on another
 * node, and the inline return path of a redirect (the monitor's return port).
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { contractLocation, describeContract, intersect, printFlow, type FlowTap } from '../../flowtap/index.js';
import type { Addressing } from '../../model/index.js';
import type { RuleRef } from '../backend.js';
import { tapComment } from '../nft/index.js';
import { expandRanges, overlapCells } from '../openflow/index.js';
import type { OvsFlow, OvsObject } from './flows.js';
import { ofportOf, OVS_TABLES } from './layout.js';

export interface OvsTapsInput {
  contracts: readonly FlowTap[];
  addressing: Addressing;
  node: string;
  /** Instances with a port now (not terminated). */
  live: ReadonlySet<string>;
  downMonitors: ReadonlySet<string>;
  firstMeter: number;
  firstGroup: number;
}

const BASE_PRIORITY = 100;

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
    if (mon.node !== node) {
      errors.push(
        diag(
          'E_BACKEND_UNSUPPORTED',
          `${name}: monitor ${c.dst} is on node ${mon.node}: the ovs backend taps only to monitors on the same node yet`,
          where,
        ),
      );
      continue;
    }
    if (c.options?.sample && c.options.sample.every !== 1) {
      errors.push(
        diag(
          'E_BACKEND_UNSUPPORTED',
          `${name}: option sample cannot be expressed by the ovs backend: OpenFlow's sample action exports to IPFIX/sFlow collectors, not to a monitor port`,
          where,
        ),
      );
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
    const mp = ofportOf(mon.port);
    if (!sp.ok || !mp.ok) {
      errors.push(...(sp.ok ? [] : sp.errors), ...(mp.ok ? [] : mp.errors));
      continue;
    }
    monitorPort.set(c.dst, mp.value);
    if (c.direction !== 'ingress') pieces.push({ contract: c, side: 'egress', port: sp.value, name: src.port });
    if (c.direction !== 'egress') pieces.push({ contract: c, side: 'ingress', port: sp.value, name: src.port });
  }

  const budgetFlows = new Map<number, OvsFlow>();
  const groupOf = new Map<string, number>();
  const actionsFor = (members: FlowTap[], side: Piece['side'], tapped: number): string => {
    const next = `resubmit(,${side === 'egress' ? OVS_TABLES.conntrack : OVS_TABLES.deliver})`;
    const redirect = members.find((c) => c.action === 'redirect');
    const seen = new Set<string>(redirect ? [redirect.dst] : []);
    const acts: string[] = [];
    for (const c of members) {
      if (c.action !== 'forward' || seen.has(c.dst) || input.downMonitors.has(c.dst)) continue;
      seen.add(c.dst);
      const m = monitorPort.get(c.dst)!;
      const meter = meterOf.get(c.id);
      if (meter === undefined) acts.push(`output:${m}`);
      else {
        acts.push(`clone(load:${meter}->NXM_NX_REG3[],resubmit(,${OVS_TABLES.budget}))`);
        budgetFlows.set(meter, {
          table: OVS_TABLES.budget,
          priority: BASE_PRIORITY,
          match: `reg3=${meter}`,
          actions: `meter:${meter},output:${m}`,
        });
      }
    }
    if (!redirect) acts.push(next);
    else if (redirect.options?.failMode === 'open') {
      if (input.downMonitors.has(redirect.dst)) acts.push(next);
      else {
        const m = monitorPort.get(redirect.dst)!;
        const key = `${m}|${next}|${tapped}`;
        let id = groupOf.get(key);
        if (id === undefined) {
          id = input.firstGroup + groups.length;
          groupOf.set(key, id);
          // Every fast-failover bucket needs a port to watch: the fallback watches the tapped port,
          // which is up whenever a packet comes from it or goes to it.
          groups.push({
            id,
            text: `group_id=${id},type=fast_failover,bucket=watch_port:${m},actions=output:${m},bucket=watch_port:${tapped},actions=${next}`,
          });
        }
        acts.push(`group:${id}`);
      }
    } else if (!input.downMonitors.has(redirect.dst)) {
      const meter = meterOf.get(redirect.id);
      acts.push(`${meter !== undefined ? `meter:${meter},` : ''}output:${monitorPort.get(redirect.dst)}`);
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
