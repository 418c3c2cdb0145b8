/**
 * Compiles a deployment into the simulator's per-node structures (simulate-model.ts), once:
 * exactly what renderNftFirewall and renderNftTaps would render for the same input, with the
 * same quarantine (ctx status `isolated`), the same live set (nodeScript's reading of the
 * status), the same service sets and the same down-monitor handling.
 *
 * The contracts go through renderNftTaps for every node first, so the simulator refuses
 * exactly what the renderer refuses, with the renderer's diagnostics; ruleset rules nft would
 * refuse (a block that does not parse, a bad port range) are E_SIM_RULE.
 */
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import { cidrSet, quarantine, type Direction, type FirewallRule, type IpInterval } from '../../firewall/index.js';
import { addressProblem, ipv4Range, parseCidr, parseIpv4, parseIpv4Cidr } from '../../net/index.js';
import { nftIdent, restrictComment, restrictionRules } from '../nft/index.js';
import { renderNftTaps } from '../nft/index.js';
import { buildChainIndex, PROTO_ANY, PROTO_TCP, PROTO_UDP } from './indexed.js';
import type { CChain, CNode, CPort, CRestriction, CRule, LinearRule, Simulation } from './model.js';
import { peerResolver, pointSet, protoOf, renderedRuleComment } from './peers.js';
import { compileTapRules } from './tap-rules.js';
import { DEFAULT_SIM_TOPOLOGY, type SimInput, type SimTopology } from './types.js';

function macWords(mac: string): number[] | null {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(mac);
  if (!m) return null;
  const b = m.slice(1).map((x) => parseInt(x, 16));
  return [(b[0] << 8) | b[1], (b[2] << 8) | b[3], (b[4] << 8) | b[5]];
}

/** The renderer's diagnostics come once per node: keep each once. */
function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = `${d.code}|${d.message}|${JSON.stringify(d.loc ?? {})}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function compileSimulation(input: SimInput): Result<Simulation> {
  const { app, addressing } = input;
  const errs: Diagnostic[] = [];
  const topo: SimTopology = { ...DEFAULT_SIM_TOPOLOGY, ...input.topology };
  const status = input.status;
  const isolatedNow = status
    ? Object.entries(status)
        .filter(([, s]) => s === 'isolated')
        .map(([i]) => i)
    : [];
  const ruleset = quarantine(input.ruleset, isolatedNow);
  const appInstances = new Set(app.instances.map((i) => i.name));
  const live = new Set(
    status
      ? Object.entries(status)
          .filter(([i, s]) => s !== 'terminated' && appInstances.has(i))
          .map(([i]) => i)
      : [...appInstances],
  );
  const down = new Set(input.downMonitors ?? []);
  const audit = input.mode === 'audit';
  const inline = input.inline ?? true;

  // The renderer's verdict on the contracts, node by node.
  for (const n of app.nodes) {
    const r = renderNftTaps(input.contracts, app, addressing, n.name, { live, downMonitors: [...down], inline });
    if (!r.ok) errs.push(...r.errors);
  }

  const block = (text: string, what: string): IpInterval | null => {
    const r = parseIpv4Cidr(text);
    if (!r.ok) errs.push(diag('E_SIM_INPUT', `${what} ${JSON.stringify(text)} is not an IPv4 block a.b.c.d/n: ${r.reason}`));
    return r.ok ? ipv4Range(r.cidr) : null;
  };
  const address = (text: string, what: string): number => {
    const ip = parseIpv4(text);
    if (ip === undefined)
      errs.push(diag('E_SIM_INPUT', `${what} ${JSON.stringify(text)} is not an IPv4 address: ${addressProblem(text, 4)}`));
    return ip ?? 0;
  };
  const network = block(ruleset.network, 'ruleset network') ?? { lo: 0, hi: 0 };
  const underlay = block(topo.underlay, 'underlay') ?? { lo: 0, hi: 0 };
  const overlay = block(topo.overlay, 'overlay') ?? { lo: 0, hi: 0 };
  const externalIp = address(topo.external, 'external address');
  const multiNode = app.nodes.length > 1;

  const nodes: CNode[] = [];
  const nodeByName = new Map<string, CNode>();
  const nodeByUnderlay = new Map<number, CNode>();
  const nodeByOverlay = new Map<number, CNode>();
  for (const n of app.nodes) {
    const a = Object.hasOwn(addressing.nodes, n.name) ? addressing.nodes[n.name] : undefined;
    if (!a) {
      errs.push(diag('E_SIM_INPUT', `node ${n.name} has no addressing`));
      continue;
    }
    const node: CNode = {
      name: n.name,
      index: a.index,
      gateway: address(a.gateway, `gateway of node ${n.name}`),
      underlayIp: address(a.ip, `underlay address of node ${n.name}`),
      overlayIp: multiNode ? overlay.lo + a.index + 1 : -1,
      subnet: block(a.subnet, `subnet of node ${n.name}`) ?? { lo: 1, hi: 0 },
      ports: new Map(),
      routes: new Map(),
    };
    nodes.push(node);
    nodeByName.set(n.name, node);
    nodeByUnderlay.set(node.underlayIp, node);
    if (multiNode) nodeByOverlay.set(node.overlayIp, node);
  }

  const peers = peerResolver(app, addressing, network);

  const checkRule = (r: FirewallRule): boolean => {
    let good = true;
    if (r.peer.kind === 'cidr' && !cidrSet(r.peer.cidr, r.peer.except)) {
      errs.push(
        diag(
          'E_SIM_RULE',
          `rule ${r.id}: block ${r.peer.cidr}${r.peer.except.length ? ` except ${r.peer.except.join(', ')}` : ''} is not one nft accepts (a.b.c.d/n)`,
        ),
      );
      good = false;
    }
    for (const p of r.ports ?? []) {
      if (!Number.isInteger(p.from) || !Number.isInteger(p.to) || p.from < 0 || p.to > 65535 || p.from > p.to) {
        errs.push(diag('E_SIM_RULE', `rule ${r.id}: port range ${p.from}-${p.to} is not one nft accepts (0-65535, from <= to)`));
        good = false;
      }
    }
    return good;
  };

  // Chains of every attached instance on its node, as the renderer's `local` list.
  const isolatedIn = new Set(ruleset.isolated.ingress);
  const isolatedEg = new Set(ruleset.isolated.egress);
  const quarantined = new Set(ruleset.quarantined ?? []);
  const chains = new Map<string, CChain>();
  const instances = new Map<string, CPort>();
  const newChain = (instance: string, direction: Direction): CChain => {
    const name = `${direction === 'egress' ? 'eg' : 'in'}_${nftIdent(instance)}`;
    const rules: CRule[] = [];
    if (direction === 'egress' && ruleset.base.dns) {
      const ip = address(ruleset.base.dns.ip, 'dns address');
      rules.push({
        comment: 'dns',
        proto: PROTO_ANY,
        ports: [{ from: ruleset.base.dns.port, to: ruleset.base.dns.port }],
        ips: pointSet([ip]),
        accept: true,
      });
    }
    const isolated = direction === 'egress' ? isolatedEg.has(instance) : isolatedIn.has(instance);
    const chain: CChain = { name, instance, direction, rules, isolated, defaultComment: `${name} default`, index: buildChainIndex([]) };
    chains.set(`${direction}|${instance}`, chain);
    return chain;
  };
  const instanceNames = Object.keys(addressing.instances).sort();
  for (const name of instanceNames) {
    const at = addressing.instances[name];
    const node = nodeByName.get(at.node);
    if (!node) {
      errs.push(diag('E_SIM_INPUT', `instance ${name} is attached to unknown node ${at.node}`));
      continue;
    }
    const mac = macWords(at.mac);
    if (!mac) errs.push(diag('E_SIM_INPUT', `instance ${name}: MAC ${JSON.stringify(at.mac)} is not aa:bb:cc:dd:ee:ff`));
    const port: CPort = {
      instance: name,
      port: at.port,
      ip: address(at.ip, `address of instance ${name}`),
      ipText: at.ip,
      mac: mac ?? [0, 0, 0],
      node,
      live: live.has(name),
      quarantined: quarantined.has(name),
      eg: newChain(name, 'egress'),
      in: newChain(name, 'ingress'),
      tapEgName: `tap_eg_${nftIdent(at.port)}`,
      tapInName: `tap_in_${nftIdent(at.port)}`,
      tapEg: [],
      tapIn: [],
    };
    node.ports.set(at.port, port);
    if (port.live) node.routes.set(port.ip, port);
    instances.set(name, port);
  }

  const linearRules: LinearRule[] = [];
  for (const r of ruleset.rules) {
    if (!checkRule(r)) continue;
    const chain = chains.get(`${r.direction}|${r.target}`);
    let slot = -1;
    if (chain) {
      slot = chain.rules.length;
      chain.rules.push({
        id: r.id,
        comment: renderedRuleComment(r),
        proto: protoOf(r.protocol),
        ports: r.ports,
        ips: peers.addresses(r) ?? [],
        accept: r.action === 'accept',
      });
    }
    linearRules.push({ rule: r, proto: protoOf(r.protocol), slot, peer: peers.linear(r) });
  }
  for (const c of chains.values()) c.index = buildChainIndex(c.rules);

  // The renderer's verdict on the restrictions; what it takes, compiled.
  const restricted = restrictionRules(input.restrictions ?? [], ruleset.network, input.mode ?? 'enforce');
  errs.push(...restricted.errors);
  const restrictions: CRestriction[] = restricted.errors.length
    ? []
    : (input.restrictions ?? []).map((r) => {
        const src = parseCidr(r.source, { bare: true });
        const proto = r.port !== undefined || r.protocol !== undefined ? ((r.protocol ?? 'tcp') === 'tcp' ? PROTO_TCP : PROTO_UDP) : -1;
        return {
          id: r.id,
          comment: restrictComment(r.id),
          source: src.ok && src.cidr.version === 4 ? ipv4Range(src.cidr) : null,
          proto,
          port: r.port ?? -1,
          rate: r.rate ? { perSecond: r.rate.perSecond, burst: r.rate.burst } : null,
        };
      });

  const linearTaps = compileTapRules(input.contracts, app.tenant, addressing, instances, down, inline, input.inlineMode === 'queue');

  if (errs.length) return fail(dedupe(errs));
  const dns = ruleset.base.dns ? { ip: parseIpv4(ruleset.base.dns.ip) ?? 0, port: ruleset.base.dns.port } : undefined;
  return ok({
    kind: 'flowtap-simulation',
    app,
    audit,
    inline,
    established: ruleset.base.established,
    ...(dns ? { dns } : {}),
    network,
    nodes,
    nodeByName,
    instances,
    nodeByUnderlay,
    nodeByOverlay,
    underlay,
    overlay,
    externalIp,
    multiNode,
    subnets: nodes.map((n) => ({ lo: n.subnet.lo, hi: n.subnet.hi, node: n })).sort((a, b) => a.lo - b.lo),
    restrictions,
    linearRules,
    linearTaps,
  });
}
