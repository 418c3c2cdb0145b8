/**
 * The netdev tap chains on an instance's port as renderNftTaps writes them: every matching
 * forward copies (`dup`), the first matching redirect diverts (`fwd`) or, to a monitor that is
 * down and fails closed, drops; sampling and budgets decide per the walk's options. A diverted
 * frame ends at its monitor unless the monitor passes it back (simulate-inline.ts): the engine
 * takes it from there.
 */
import { ETH_TYPE_IP, type PacketSpec } from '../../flowtap/index.js';
import { monitorVerdict } from './inline.js';
import { linearTapMatches } from './linear.js';
import type { CPort, CTap, FieldTest } from './model.js';
import type { SimCopy, SimDiversion, SimHop, SimTapEffect, SimTapHook, SimTapMatch } from './types.js';
import type { Walk } from './walk.js';

/** Shared by every trace without copies until the first one. */
export const NO_COPIES = Object.freeze([]) as unknown as SimCopy[];
export const NO_DIVERSIONS = Object.freeze([]) as unknown as SimDiversion[];

/** What a tap chain did with the packet: it goes on; it goes no further (the outcome is set); a monitor passed it back (Walk.back). */
export const TAP_ON = 0;
const TAP_STOP = 1;
export const TAP_BACK = 2;
export type TapResult = typeof TAP_ON | typeof TAP_STOP | typeof TAP_BACK;

/** Tap rules that matched at the current hook; the walk is synchronous and consumes it before the next hook. */
const scratch: CTap[] = [];

/** matchesPacket over a flow's pre-flattened fields. */
function flowMatches(tests: readonly FieldTest[], pkt: PacketSpec): boolean {
  const fields = pkt as unknown as Record<string, number & number[]>;
  for (let i = 0; i < tests.length; i++) {
    const t = tests[i];
    const x = fields[t.name];
    if (t.kind === 0) {
      if ((x & t.mask) >>> 0 !== t.value) return false;
    } else if (t.kind === 1) {
      if ((x & t.mask) !== t.value || x < t.from || x > t.to) return false;
    } else {
      for (let k = 0; k < t.wordMasks.length; k++) if ((x[k] & t.wordMasks[k]) !== t.words[k]) return false;
    }
  }
  return true;
}

/** Tap rules of the port's chain whose flow matches, in chain order; returns how many. */
function indexedTapMatches(list: readonly CTap[], pkt: PacketSpec, laterFragment: boolean, out: CTap[]): number {
  let n = 0;
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t.dlType >= 0 && t.dlType !== pkt.dl_type) continue;
    if (t.nwProto >= 0 && t.nwProto !== pkt.nw_proto) continue;
    if (laterFragment && t.l4) continue;
    if (flowMatches(t.tests, pkt)) out[n++] = t;
  }
  return n;
}

function tapMatch(t: CTap, effect: SimTapEffect, why?: SimTapMatch['why']): SimTapMatch {
  const action = t.forward ? 'forward' : 'redirect';
  return why === undefined
    ? { contract: t.id, monitor: t.monitor, device: t.device, action, effect }
    : { contract: t.id, monitor: t.monitor, device: t.device, action, effect, why };
}

/** A netdev tap chain on an instance's port. */
export function tapHook(w: Walk, hop: SimHop, port: CPort, hook: 'ingress' | 'egress', pkt: PacketSpec): TapResult {
  const sent = hook === 'ingress';
  const list = sent ? port.tapEg : port.tapIn;
  if (list.length === 0) return TAP_ON;
  const later = pkt.dl_type === ETH_TYPE_IP && (pkt.ip_frag & 2) !== 0;
  const matched = scratch;
  const n = w.linear ? linearTapMatches(w.sim, port.instance, sent, pkt, later, matched) : indexedTapMatches(list, pkt, later, matched);
  const ht: SimTapHook = {
    node: port.node.name,
    hook,
    port: port.port,
    instance: port.instance,
    chain: sent ? port.tapEgName : port.tapInName,
    matches: [],
  };
  if (sent) hop.ingressTap = ht;
  else hop.egressTap = ht;
  for (let i = 0; i < n; i++) {
    const t = matched[i];
    if (t.down && (t.forward || t.failOpen)) {
      ht.matches.push(tapMatch(t, 'skip', 'monitor down'));
      continue;
    }
    if (t.sampled && !w.sampleHit) {
      ht.matches.push(tapMatch(t, 'skip', 'not sampled'));
      continue;
    }
    if (t.budgeted && (w.overAll || w.overSome?.has(t.id))) {
      ht.matches.push(tapMatch(t, 'skip', 'over budget'));
      continue;
    }
    if (t.forward) {
      ht.matches.push(tapMatch(t, 'copy'));
      const copy: SimCopy = { contract: t.id, monitor: t.monitor, device: t.device, node: port.node.name, port: port.port, hook };
      if (w.trace.copies === NO_COPIES) w.trace.copies = [copy];
      else w.trace.copies.push(copy);
      continue;
    }
    if (t.down) {
      ht.matches.push(tapMatch(t, 'drop'));
      w.trace.outcome = {
        kind: 'dropped',
        stage: 'tap',
        node: port.node.name,
        chain: ht.chain,
        rule: t.id,
        default: false,
        reason: 'fail-closed redirect to a monitor that is down',
      };
      return TAP_STOP;
    }
    ht.matches.push(tapMatch(t, 'divert'));
    const d = monitorVerdict(w, t, port, hook, pkt);
    if (w.trace.diversions === NO_DIVERSIONS) w.trace.diversions = [d];
    else w.trace.diversions.push(d);
    if (d.result === 'passed') {
      w.back = t;
      return TAP_BACK;
    }
    w.trace.outcome = { kind: 'monitor', monitor: t.monitor, contract: t.id, device: t.device, node: port.node.name };
    return TAP_STOP;
  }
  return TAP_ON;
}
