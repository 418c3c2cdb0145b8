/**
 * What a monitor does with a frame a redirect diverted to it, as the monitor namespace's table
 * (renderInlineTable, or the queue mode's steering) decides for the walk's verdict model, and
 * whether the frame can come back at all (nft/inline.ts): a monitor on the tapped port's node
 * passes it back on its return port; one on another node gets it through its tap tunnel and, in
 * the queue mode only, passes it back by the same tunnel (SimInput.inlineMode); in the hold mode
 * it ends there. Without inline redirects every diversion ends at the monitor.
 */
import { ETH_TYPE_IP, IPPROTO_TCP, type PacketSpec } from '../../flowtap/index.js';
import type { CPort, CTap } from './model.js';
import type { SimDiversion } from './types.js';
import type { Walk } from './walk.js';

/** The monitor's verdict on `pkt`, diverted by `t` at `port`'s `hook`. */
export function monitorVerdict(w: Walk, t: CTap, port: CPort, hook: 'ingress' | 'egress', pkt: PacketSpec): SimDiversion {
  const d: SimDiversion = {
    contract: t.id,
    monitor: t.monitor,
    device: t.device,
    node: port.node.name,
    instance: port.instance,
    port: port.port,
    hook,
    result: 'kept',
    why: '',
  };
  if (!w.sim.inline) {
    d.why = 'redirects are not inline: the monitor keeps what it is sent';
    return d;
  }
  d.tag = hook === 'ingress' ? t.tagSent : t.tagDelivered;
  if (t.returnPort === null) {
    d.why = `${t.monitor} is on ${t.monitorNode}: it gets the frame through its tap tunnel and, in the hold mode, cannot pass it back`;
    return d;
  }
  const v = w.verdict;
  if (v === 'monitor-down') {
    // The namespace's table reads the failMode bit of the tag: no monitor process is involved.
    if (!t.failOpen) {
      d.result = 'dropped';
      d.why = 'monitor not running or overloaded: the contract fails closed';
      return d;
    }
    d.why = 'monitor not running or overloaded: the contract fails open';
  } else if (v === 'block') {
    if (pkt.dl_type === ETH_TYPE_IP && pkt.nw_proto === IPPROTO_TCP) {
      d.result = 'blocked';
      d.why = 'the monitor blocked the connection: it answers with a TCP reset';
      return d;
    }
    d.why =
      pkt.dl_type === ETH_TYPE_IP ? 'not TCP: no request to judge, the monitor passes it' : 'not IPv4: the monitor passes it unjudged';
  } else d.why = 'the monitor approved it';
  d.result = 'passed';
  d.returnPort = t.returnPort;
  return d;
}
