/** A simulated packet's trace as text a person can follow, hook by hook. */
import { printPacket } from '../../flowtap/index.js';
import type {
  SimChainStep,
  SimDiversion,
  SimFirewallTrace,
  SimHop,
  SimEntry,
  SimOutcome,
  SimRoute,
  SimTrace,
  SimTapHook,
} from './types.js';

function entryText(e: SimEntry): string {
  return e.kind === 'instance' ? `instance ${e.instance}` : `outside${e.node ? ` (via ${e.node})` : ''}`;
}

function tapText(t: SimTapHook): string {
  if (t.passedBack)
    return `  tap ${t.hook} ${t.port} [${t.chain}]: passed back by a monitor (marked): the chain already ran, no rule applies`;
  const hits = t.matches.map((m) => {
    const what =
      m.effect === 'skip'
        ? `not applied (${m.why})`
        : m.effect === 'drop'
          ? 'drop (monitor down, fail closed)'
          : `${m.effect} -> ${m.monitor} via ${m.device}`;
    return `${m.contract} ${m.action}: ${what}`;
  });
  return `  tap ${t.hook} ${t.port} [${t.chain}]: ${hits.length ? hits.join('; ') : 'no rule matches'}`;
}

function routeText(r: SimRoute): string {
  switch (r.kind) {
    case 'instance':
      return `${r.oif} (${r.instance})`;
    case 'fwd':
      return `straight out of ${r.oif} (${r.instance}) by the return chain, not routed`;
    case 'node':
      return 'the node itself';
    case 'vxlan':
      return `${r.oif} to ${r.node ?? 'no node'}`;
    case 'uplink':
      return `${r.oif} to ${r.host === 'node' ? r.node : r.host === 'external' ? 'the outside network' : 'no host'}`;
    case 'none':
      return 'none';
  }
}

function stepText(s: SimChainStep): string {
  return `${s.chain} ${s.verdict}${s.default ? ' by default' : ''} [${s.comment}]`;
}

function firewallText(f: SimFirewallTrace): string {
  const audited = f.audited.length ? ` (audit: would drop at ${f.audited.map((s) => s.chain).join(', ')})` : '';
  return `  ${f.hook} ${f.iif}${f.oif ? ` -> ${f.oif}` : ''}: ${f.steps.map(stepText).join('; ')}${audited}`;
}

function formatOutcome(o: SimOutcome): string {
  switch (o.kind) {
    case 'delivered':
      return `delivered to ${o.instance} on ${o.node}`;
    case 'monitor':
      return `diverted to monitor ${o.monitor} via ${o.device} on ${o.node} by ${o.contract}: it ends there`;
    case 'outside':
      return `left ${o.node} to the outside network`;
    case 'node':
      return `taken by node ${o.node}: ${o.why}`;
    case 'local':
      return `stays where it started: ${o.why}`;
    case 'dropped': {
      const where = [o.node, o.chain, o.rule].filter(Boolean).join(' ');
      return `dropped${where ? ` at ${where}` : ''}${o.default ? ' (default)' : ''} (${o.stage}): ${o.reason}`;
    }
  }
}

function diversionText(d: SimDiversion): string {
  const back = d.result === 'passed' ? `, back on ${d.returnPort}` : '';
  return `  monitor ${d.monitor} (${d.contract}${d.tag ? `, tag ${d.tag}` : ''}): ${d.result}${back}: ${d.why}`;
}

/** A hop's lines; its diverting tap hooks are followed by what the monitor did (`next` diversion onwards). */
function hopText(h: SimHop, diversions: readonly SimDiversion[], next: { i: number }): string[] {
  const out = [`${h.node} <- ${h.iif}${h.ttl ? ` (ttl ${h.ttl})` : ''}${h.passedBack ? `, passed back by ${h.passedBack.monitor}` : ''}`];
  const tap = (t: SimTapHook) => {
    out.push(tapText(t));
    if (t.matches.some((m) => m.effect === 'divert') && next.i < diversions.length) out.push(diversionText(diversions[next.i++]));
  };
  if (h.ingressTap) tap(h.ingressTap);
  if (h.route) out.push(`  route: ${routeText(h.route)}`);
  if (h.firewall) out.push(firewallText(h.firewall));
  if (h.egressTap) tap(h.egressTap);
  return out;
}

export function formatTrace(t: SimTrace): string {
  const lines = [`${printPacket(t.packet)} from ${entryText(t.from)} (ct ${t.ctState})`];
  const next = { i: 0 };
  for (const h of t.hops) lines.push(...hopText(h, t.diversions, next));
  lines.push(`=> ${formatOutcome(t.outcome)}`);
  if (t.copies.length)
    lines.push(`   copies: ${t.copies.map((c) => `${c.monitor} (${c.contract} at ${c.node} ${c.port} ${c.hook})`).join(', ')}`);
  return lines.join('\n');
}
