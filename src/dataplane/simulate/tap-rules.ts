/**
 * Contracts as the netdev tap chains hold them (see renderNftTaps): on the source instance's
 * port, `tap_eg_<port>` for what it sends and `tap_in_<port>` for what it receives, forwards
 * first and then redirects, contract order kept; a monitor on another node through its tap
 * tunnel; contracts of ports that are not live left out.
 */
import {
  fieldSpec,
  type FieldName,
  type FlowMatch,
  type FlowTap,
  type Masked,
  type PortMatch,
  type WideMasked,
} from '../../flowtap/index.js';
import type { Addressing } from '../../model/index.js';
import { isMac, monitorReturnPort, redirectTag } from '../nft/index.js';
import { tapTunnelIf } from '../nft/index.js';
import type { CPort, CTap, FieldTest, LinearTap } from './model.js';

/** Fields nft reads from the transport header, which a later fragment does not carry. */
const TRANSPORT_FIELDS = ['tp_src', 'tp_dst', 'tcp_flags', 'icmp_type', 'icmp_code'] as const;

function fieldTests(flow: FlowMatch): FieldTest[] {
  const out: FieldTest[] = [];
  for (const name of Object.keys(flow) as FieldName[]) {
    const v = flow[name];
    if (v === undefined) continue;
    const kind = fieldSpec(name).kind;
    if (kind === 'wide') {
      const w = v as WideMasked;
      out.push({ name, kind: 2, value: 0, mask: 0, from: 0, to: 0, words: w.value, wordMasks: w.mask });
    } else if (kind === 'port') {
      const p = v as PortMatch;
      out.push({
        name,
        kind: 1,
        value: p.value,
        mask: p.mask,
        from: p.range?.from ?? 0,
        to: p.range?.to ?? 65535,
        words: [],
        wordMasks: [],
      });
    } else {
      const m = v as Masked;
      out.push({ name, kind: 0, value: m.value, mask: m.mask, from: 0, to: 0, words: [], wordMasks: [] });
    }
  }
  return out;
}

interface TapPlace {
  device: string;
  monitorNode: string;
  returnPort: string | null;
  /** The tapped instance's MAC, when redirects are inline. */
  inlineMac: string | null;
}

function tapRule(c: FlowTap, at: TapPlace, down: boolean): CTap {
  const o = c.options ?? {};
  const dl = c.flow.dl_type;
  const np = c.flow.nw_proto;
  const tagged = at.inlineMac !== null && c.action === 'redirect';
  const mode = o.failMode === 'open' ? 'open' : 'closed';
  return {
    contract: c,
    id: c.id,
    monitor: c.dst,
    device: at.device,
    monitorNode: at.monitorNode,
    returnPort: at.returnPort,
    tagSent: tagged ? redirectTag(at.inlineMac!, 'sent', mode) : '',
    tagDelivered: tagged ? redirectTag(at.inlineMac!, 'delivered', mode) : '',
    forward: c.action === 'forward',
    down,
    failOpen: o.failMode === 'open',
    sampled: !!o.sample && o.sample.every !== 1,
    budgeted: !!o.budget,
    l4: TRANSPORT_FIELDS.some((f) => c.flow[f] !== undefined),
    dlType: dl && dl.mask === 0xffff ? dl.value : -1,
    nwProto: np && np.mask === 0xff ? np.value : -1,
    tests: fieldTests(c.flow),
  };
}

/**
 * Fills every port's tap lists from the contracts (already accepted by renderNftTaps, which
 * also checked every MAC an inline tag is made from) and returns the rendered contracts in
 * input order for the linear scan.
 */
export function compileTapRules(
  contracts: readonly FlowTap[],
  tenant: string,
  addressing: Addressing,
  ports: ReadonlyMap<string, CPort>,
  down: ReadonlySet<string>,
  inline: boolean,
  /** A monitor on another node passes frames back by its tap tunnel (the queue mode). */
  remoteReturns = false,
): LinearTap[] {
  const linear: LinearTap[] = [];
  for (const c of contracts) {
    const src = ports.get(c.src);
    const mon = Object.hasOwn(addressing.monitors, c.dst) ? addressing.monitors[c.dst] : undefined;
    if (!src || !mon || !src.live || c.tenant !== tenant) continue;
    const local = mon.node === src.node.name;
    const place: TapPlace = {
      device: local ? mon.port : tapTunnelIf(mon.port),
      monitorNode: mon.node,
      returnPort: local ? monitorReturnPort(mon.port) : remoteReturns ? tapTunnelIf(mon.port) : null,
      // A MAC that is not one fails the compile (renderNftTaps says so): no tag to make then.
      inlineMac: inline && isMac(addressing.instances[c.src].mac) ? addressing.instances[c.src].mac : null,
    };
    const tap = tapRule(c, place, down.has(c.dst));
    const egress = c.direction !== 'ingress';
    const ingress = c.direction !== 'egress';
    if (egress) src.tapEg.push(tap);
    if (ingress) src.tapIn.push(tap);
    linear.push({ tap, instance: c.src, egress, ingress });
  }
  const chainOrder = (list: CTap[]) => [...list.filter((t) => t.forward), ...list.filter((t) => !t.forward)];
  for (const p of ports.values()) {
    p.tapEg = chainOrder(p.tapEg);
    p.tapIn = chainOrder(p.tapIn);
  }
  return linear;
}
