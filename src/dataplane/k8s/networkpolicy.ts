/**
 * Renders an abstract ruleset as Kubernetes NetworkPolicies: one default-deny policy for
 * the namespace, then one policy per service. NetworkPolicies only allow and only select
 * whole workloads, so drop rules and rules that differ between replicas of one service
 * cannot be expressed; those are errors naming the rule and the backend.
 */
import { stringify } from 'yaml';
import { diag, fail, ok, type Diagnostic, type Result } from '../../diagnostics/index.js';
import type { App } from '../../model/index.js';
import type { FirewallRule, Peer, Ruleset } from '../../firewall/index.js';
import { FLOWTAP_TENANT_LABEL, isLabelValue, K8S_NAME_LABEL, K8S_NAMESPACE_NAME_LABEL, K8S_PART_OF_LABEL, k8sName } from './labels.js';

export interface K8sRenderOptions {
  namespace?: string;
  /** Also emit the Namespace and a Deployment per service, so the output can be analysed alone. */
  withWorkloads?: boolean;
}

export function renderK8sNetworkPolicies(ruleset: Ruleset, app: App, opts: K8sRenderOptions = {}): Result<string> {
  const namespace = k8sName(opts.namespace ?? app.name);
  const errors: Diagnostic[] = [];
  const serviceOfInstance = new Map(app.instances.map((i) => [i.name, i.service]));
  const firstInstance = new Map<string, string>();
  for (const i of app.instances) if (!firstInstance.has(i.service)) firstInstance.set(i.service, i.name);

  const signature = (r: FirewallRule) => JSON.stringify([r.direction, r.peer, r.protocol, r.ports, r.action]);
  const perInstance = new Map<string, string[]>();
  for (const r of ruleset.rules) {
    if (r.action === 'drop') {
      errors.push(
        diag('E_BACKEND_UNSUPPORTED', `rule ${r.id} drops traffic; Kubernetes NetworkPolicy can only allow`, { field: `rules.${r.id}` }),
      );
    }
    let list = perInstance.get(r.target);
    if (!list) {
      list = [];
      perInstance.set(r.target, list);
    }
    list.push(signature(r));
  }
  for (const inst of app.instances) {
    const first = firstInstance.get(inst.service)!;
    if (first === inst.name) continue;
    const a = (perInstance.get(first) ?? []).join('\n');
    const b = (perInstance.get(inst.name) ?? []).join('\n');
    if (a !== b)
      errors.push(
        diag(
          'E_BACKEND_UNSUPPORTED',
          `instances ${first} and ${inst.name} of service ${inst.service} have different rules; Kubernetes NetworkPolicy selects whole workloads`,
          { field: `instances.${inst.name}` },
        ),
      );
  }
  const isolatedIn = new Set(ruleset.isolated.ingress.map((i) => serviceOfInstance.get(i)));
  const isolatedEg = new Set(ruleset.isolated.egress.map((i) => serviceOfInstance.get(i)));
  const partial = app.services.find((s) => isolatedIn.has(s.name) !== isolatedEg.has(s.name));
  if (errors.length) return fail(errors);

  const docs: unknown[] = [];
  if (opts.withWorkloads) {
    // The tenant label lets the tenant isolation AdminNetworkPolicy (admin-network-policy.ts) select this namespace.
    const tenant = isLabelValue(app.tenant) && app.tenant ? { [FLOWTAP_TENANT_LABEL]: app.tenant } : {};
    docs.push({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace, labels: { [K8S_NAMESPACE_NAME_LABEL]: namespace, ...tenant } },
    });
    for (const s of app.services) {
      const labels = { [K8S_NAME_LABEL]: k8sName(s.name), [K8S_PART_OF_LABEL]: k8sName(app.name) };
      docs.push({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: k8sName(s.name), namespace, labels },
        spec: {
          replicas: s.replicas,
          selector: { matchLabels: { [K8S_NAME_LABEL]: k8sName(s.name) } },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: k8sName(s.name),
                  image: `${k8sName(s.name)}:latest`,
                  ports: s.ports.map((p) => ({
                    name: k8sName(p.name).slice(0, 15),
                    containerPort: p.port,
                    protocol: p.protocol.toUpperCase(),
                  })),
                },
              ],
            },
          },
        },
      });
    }
  }
  const everyoneIsolated = !partial && app.services.every((s) => isolatedIn.has(s.name));
  if (everyoneIsolated) {
    docs.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'default-deny', namespace, labels: { [K8S_PART_OF_LABEL]: k8sName(app.name) } },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  }
  for (const s of app.services) {
    const first = firstInstance.get(s.name);
    if (!first) continue;
    const rules = ruleset.rules.filter((r) => r.target === first);
    const ingress = rules.filter((r) => r.direction === 'ingress').map((r) => k8sRule(r, 'from', ruleset, app));
    const egress = rules.filter((r) => r.direction === 'egress').map((r) => k8sRule(r, 'to', ruleset, app));
    if (ruleset.base.dns && isolatedEg.has(s.name))
      egress.push({
        to: [{ ipBlock: { cidr: `${ruleset.base.dns.ip}/32` } }],
        ports: [
          { protocol: 'UDP', port: ruleset.base.dns.port },
          { protocol: 'TCP', port: ruleset.base.dns.port },
        ],
      });
    const policyTypes = [...(isolatedIn.has(s.name) ? ['Ingress'] : []), ...(isolatedEg.has(s.name) ? ['Egress'] : [])];
    if (!ingress.length && !egress.length && (everyoneIsolated || !policyTypes.length)) continue;
    docs.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `${k8sName(s.name)}-flowtap`.slice(0, 63), namespace, labels: { [K8S_PART_OF_LABEL]: k8sName(app.name) } },
      spec: {
        podSelector: { matchLabels: { [K8S_NAME_LABEL]: k8sName(s.name) } },
        policyTypes,
        ...(ingress.length ? { ingress } : {}),
        ...(egress.length ? { egress } : {}),
      },
    });
  }
  return ok(docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n'));
}

function k8sRule(r: FirewallRule, key: 'from' | 'to', ruleset: Ruleset, app: App): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const peer = k8sPeer(r.peer, ruleset, app);
  if (peer) out[key] = peer;
  if (r.ports) {
    const protocols = r.protocol === 'any' ? ['TCP', 'UDP'] : [r.protocol.toUpperCase()];
    out.ports = protocols.flatMap((protocol) =>
      r.ports!.map((p) => (p.from === p.to ? { protocol, port: p.from } : { protocol, port: p.from, endPort: p.to })),
    );
  } else if (r.protocol !== 'any') {
    out.ports = [{ protocol: r.protocol.toUpperCase() }];
  }
  return out;
}

function k8sPeer(peer: Peer, ruleset: Ruleset, app: App): unknown[] | null {
  switch (peer.kind) {
    case 'any':
      return null;
    case 'external':
      return [{ ipBlock: { cidr: '0.0.0.0/0', except: [ruleset.network] } }];
    case 'cidr':
      return [{ ipBlock: { cidr: peer.cidr, ...(peer.except.length ? { except: peer.except } : {}) } }];
    case 'service':
      return [{ podSelector: { matchLabels: { [K8S_NAME_LABEL]: k8sName(peer.service) } } }];
    case 'instances': {
      const services = [...new Set(peer.instances.map((i) => app.instances.find((x) => x.name === i)?.service ?? i))];
      return services.map((s) => ({ podSelector: { matchLabels: { [K8S_NAME_LABEL]: k8sName(s) } } }));
    }
  }
}
