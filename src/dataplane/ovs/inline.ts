/**
 * The inline return path on Open vSwitch: where frames an inline monitor passed back, and the
 * answers it sends for what it blocked, re-enter the bridge (table 0), rule for rule what
 * nft/inline.ts's `ret_` and `rst_` chains do, under the same names so counters read alike.
 *
 * A redirect tag (nft/inline.ts) keeps the low three bytes of the tapped instance's MAC, so one
 * flow per local instance and side maps a tag back to its port, whatever the failMode bit:
 * - on a monitor's return port, a frame diverted on its way to instance k (side delivered) had
 *   its firewall already: it gets back the router's MAC as source and goes to delivery (table
 *   32), past the ingress taps that diverted it. One sent by k gets back k's MAC and k's port as
 *   input port, and enters at conntrack (table 20), past the egress taps that diverted it: the
 *   martian checks, quarantine and k's egress rules apply as if k had just sent it (by the port
 *   the tag names, never by the source address, which k could forge);
 * - on a monitor's tap port, its answers (resets, the queue mode's 403s) carry the tag as
 *   destination: towards the instance that sent, straight out of its port; towards the peer of
 *   an instance, as if that instance sent them (conntrack, its egress rules);
 * - a monitor on another node diverted to from here (queue mode) brings both back through its
 *   tap tunnel port;
 * - anything else entering by these ports is dropped.
 */
import type { Addressing } from '../../model/index.js';
import { inlineMonitorPorts, redirectTag, returnChainName, returnComment, TAG_KIND_MASK, type RedirectSide } from '../nft/index.js';
import type { RuleRef } from '../backend.js';
import type { OvsFlow } from './flows.js';
import { OVS_TABLES, ofportOf, returnOfportOf, tunnelOfportOf } from './layout.js';

export interface OvsReturnInput {
  addressing: Addressing;
  node: string;
  /** Local instances that have a port now, with its OpenFlow number and a valid MAC. */
  instances: readonly { instance: string; mac: string; ofport: number }[];
  /** The contracts: a monitor on another node that a redirect of an instance here diverts to may pass back. */
  contracts: readonly { src: string; dst: string; action: string }[];
  routerMac: string;
}

/**
 * Above the pipeline's own drop of what a monitor sends (600). A tunnel brings back both kinds:
 * a frame tagged both ways is taken as passed, as nft's chain tries that first.
 */
const PASSED_PRIORITY = 625;
const ANSWER_PRIORITY = 620;
const OTHERS_PRIORITY = 610;

const ref = (chain: string, comment: string): RuleRef => ({ table: 'flowtap_taps', chain, comment });
const kind = (mac: string, side: RedirectSide) => `${redirectTag(mac, side, 'closed')}/${TAG_KIND_MASK}`;

export function ovsReturnFlows(input: OvsReturnInput): OvsFlow[] {
  const flows: OvsFlow[] = [];
  const add = (priority: number, match: string, actions: string, rule: RuleRef) =>
    flows.push({ table: OVS_TABLES.classify, priority, match, actions, rule });
  const instances = [...input.instances].sort((a, b) => (a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0));
  const router = input.routerMac;
  const passed = (port: number, rule: (side: RedirectSide) => RuleRef) => {
    for (const i of instances) {
      add(
        PASSED_PRIORITY,
        `in_port=${port},dl_src=${kind(i.mac, 'delivered')}`,
        `mod_dl_src:${router},load:${i.ofport}->NXM_NX_REG2[],resubmit(,${OVS_TABLES.deliver})`,
        rule('delivered'),
      );
      add(
        PASSED_PRIORITY,
        `in_port=${port},dl_src=${kind(i.mac, 'sent')}`,
        `mod_dl_src:${i.mac},load:${i.ofport}->NXM_OF_IN_PORT[],resubmit(,${OVS_TABLES.conntrack})`,
        rule('sent'),
      );
    }
  };
  const answers = (port: number, toSender: RuleRef, toPeer: RuleRef) => {
    for (const i of instances) {
      add(
        ANSWER_PRIORITY,
        `in_port=${port},dl_dst=${kind(i.mac, 'sent')}`,
        `mod_dl_src:${router},mod_dl_dst:${i.mac},output:${i.ofport}`,
        toSender,
      );
      add(
        ANSWER_PRIORITY,
        `in_port=${port},dl_dst=${kind(i.mac, 'delivered')}`,
        `mod_dl_src:${i.mac},mod_dl_dst:${router},load:${i.ofport}->NXM_OF_IN_PORT[],resubmit(,${OVS_TABLES.conntrack})`,
        toPeer,
      );
    }
  };
  for (const m of inlineMonitorPorts(input.addressing, input.node, input.contracts)) {
    const monPort = input.addressing.monitors[m.monitor].port;
    const ret = returnChainName(m.returnPort);
    const back = (side: RedirectSide) => ref(ret, returnComment(m.monitor, side));
    if (m.remote) {
      const t = tunnelOfportOf(monPort);
      if (!t.ok) continue;
      passed(t.value, back);
      answers(
        t.value,
        ref(ret, `reset from ${m.monitor} to the instance that sent`),
        ref(ret, `reset from ${m.monitor} towards the peer: forward path (established only)`),
      );
      add(OTHERS_PRIORITY, `in_port=${t.value}`, 'drop', ref(ret, `not a frame or reset from ${m.monitor}`));
      continue;
    }
    const r = returnOfportOf(monPort);
    const p = ofportOf(monPort);
    if (!r.ok || !p.ok) continue;
    passed(r.value, back);
    add(OTHERS_PRIORITY, `in_port=${r.value}`, 'drop', ref(ret, `not a frame ${m.monitor} passed`));
    const rst = `rst_${m.port.replace(/[^A-Za-z0-9_]/g, '_')}`;
    answers(
      p.value,
      ref(rst, `reset from ${m.monitor} to the instance that sent`),
      ref(rst, `reset from ${m.monitor} towards the peer: forward path (established only)`),
    );
    add(OTHERS_PRIORITY, `in_port=${p.value}`, 'drop', ref(rst, `not a reset from ${m.monitor}`));
  }
  return flows;
}
