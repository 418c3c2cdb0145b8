/**
 * Test tooling. Synthetic Kubernetes clusters for the connlist bench and tests, deterministic for a seed, in the
 * shape the API returns them (`kubectl get -o json`): typed lists whose items carry no
 * `kind`, Deployments with their ReplicaSets and pods linked by ownerReferences, StatefulSet
 * pods, a few bare pods, Services, Ingresses, and NetworkPolicies as teams write them
 * (default deny per namespace, DNS egress, per-app allows by label, named ports, port
 * ranges, namespace selectors, ipBlocks with exceptions). A README and a values file sit
 * beside the manifests, as in real repositories.
 */
import { stringify } from 'yaml';
import { seededRng, type Rng } from '../../random/index.js';

export interface ClusterSize {
  pods: number;
  policies: number;
}

export interface GeneratedCluster {
  files: Array<{ name: string; text: string }>;
  workloads: number;
  pods: number;
  policies: number;
  namespaces: number;
}

type Obj = Record<string, unknown>;

interface Tier {
  name: string;
  weight: number;
  ports: Array<{ name: string; containerPort: number; protocol?: string }>;
}

const TIERS: Tier[] = [
  {
    name: 'frontend',
    weight: 0.2,
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'metrics', containerPort: 9090 },
    ],
  },
  {
    name: 'api',
    weight: 0.35,
    ports: [
      { name: 'http', containerPort: 8080 },
      { name: 'grpc', containerPort: 9000 },
      { name: 'metrics', containerPort: 9090 },
    ],
  },
  { name: 'worker', weight: 0.2, ports: [{ name: 'metrics', containerPort: 9090 }] },
  {
    name: 'db',
    weight: 0.1,
    ports: [
      { name: 'postgres', containerPort: 5432 },
      { name: 'metrics', containerPort: 9187 },
    ],
  },
  { name: 'cache', weight: 0.1, ports: [{ name: 'redis', containerPort: 6379 }] },
  {
    name: 'signalling',
    weight: 0.05,
    ports: [
      { name: 'sigtran', containerPort: 2905, protocol: 'SCTP' },
      { name: 'metrics', containerPort: 9090 },
    ],
  },
];

interface Workload {
  ns: string;
  name: string;
  tier: Tier;
  kind: 'Deployment' | 'StatefulSet' | 'Pod';
  replicas: number;
  labels: Record<string, string>;
}

export interface ClusterOptions {
  format?: 'json' | 'yaml';
  seed?: number;
  /** Without SCTP workloads the cluster is within what the older ruleset-based analysis models. */
  sctp?: boolean;
}

export function generateCluster(size: ClusterSize, opts: ClusterOptions = {}): GeneratedCluster {
  const format = opts.format ?? 'json';
  const rnd = seededRng(opts.seed ?? 7);
  const tiers = opts.sctp === false ? TIERS.filter((t) => !t.ports.some((p) => p.protocol === 'SCTP')) : TIERS;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const nsCount = Math.max(4, Math.round(size.pods / 100));
  const namespaces = Array.from({ length: nsCount }, (_, i) => ({
    name: `team-${String(i).padStart(3, '0')}`,
    env: i % 10 < 5 ? 'prod' : i % 10 < 8 ? 'staging' : 'dev',
    team: `t${i % 8}`,
  }));

  const workloads: Workload[] = [];
  let pods = 0;
  const perNs = new Map<string, number>();
  while (pods < size.pods) {
    const ns = pick(namespaces);
    const tier = weighted(tiers, rnd);
    const k = (perNs.get(ns.name) ?? 0) + 1;
    perNs.set(ns.name, k);
    const kind = tier.name === 'db' ? 'StatefulSet' : rnd() < 0.05 ? 'Pod' : 'Deployment';
    const replicas = Math.min(size.pods - pods, kind === 'Pod' ? 1 : 1 + Math.floor(rnd() * (kind === 'StatefulSet' ? 3 : 4)));
    const name = `${tier.name}-${k}`;
    const labels = { app: name, tier: tier.name, team: ns.team, version: rnd() < 0.7 ? 'v1' : 'v2', 'app.kubernetes.io/part-of': ns.name };
    workloads.push({ ns: ns.name, name, tier, kind, replicas, labels });
    pods += replicas;
  }

  const nsItems: Obj[] = [
    { apiVersion: 'v1', metadata: { name: 'kube-system', labels: { 'kubernetes.io/metadata.name': 'kube-system' } } },
    ...namespaces.map((n) => ({
      metadata: { name: n.name, uid: uid(rnd), labels: { 'kubernetes.io/metadata.name': n.name, env: n.env, team: n.team } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    })),
  ];
  const controllers: Obj[] = [];
  const podItems: Obj[] = [];
  const services: Obj[] = [];
  const dns = { name: 'coredns', ns: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
  const dnsPorts = [
    { name: 'dns', containerPort: 53, protocol: 'UDP' },
    { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9153 },
  ];
  controllers.push(deployment(dns.ns, dns.name, dns.labels, dnsPorts, 2, rnd));
  let ip = 0;
  const podIp = () => `10.244.${(++ip >> 8) & 255}.${ip & 255}`;
  for (const w of workloads) {
    const ports = w.tier.ports;
    if (w.kind === 'Deployment') {
      const hash = hex(rnd, 10);
      const d = deployment(w.ns, w.name, w.labels, ports, w.replicas, rnd);
      controllers.push(d);
      const rsName = `${w.name}-${hash}`;
      const rsLabels = { ...w.labels, 'pod-template-hash': hash };
      controllers.push({
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: rsName, namespace: w.ns, labels: rsLabels, ownerReferences: [owner('apps/v1', 'Deployment', w.name, rnd)] },
        spec: { replicas: w.replicas, template: template(rsLabels, ports) },
      });
      for (let i = 0; i < w.replicas; i++)
        podItems.push(pod(w.ns, `${rsName}-${hex(rnd, 5)}`, rsLabels, ports, owner('apps/v1', 'ReplicaSet', rsName, rnd), podIp()));
    } else if (w.kind === 'StatefulSet') {
      controllers.push({
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata: { name: w.name, namespace: w.ns, uid: uid(rnd) },
        spec: {
          replicas: w.replicas,
          serviceName: w.name,
          selector: { matchLabels: { app: w.name } },
          template: template(w.labels, ports),
        },
      });
      const revision = `${w.name}-${hex(rnd, 10)}`;
      for (let i = 0; i < w.replicas; i++) {
        const labels = { ...w.labels, 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': `${w.name}-${i}` };
        podItems.push(pod(w.ns, `${w.name}-${i}`, labels, ports, owner('apps/v1', 'StatefulSet', w.name, rnd), podIp()));
      }
    } else {
      podItems.push(pod(w.ns, w.name, w.labels, ports, null, podIp()));
    }
    services.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: w.name, namespace: w.ns },
      spec: {
        type: w.tier.name === 'frontend' && rnd() < 0.3 ? 'LoadBalancer' : 'ClusterIP',
        selector: { app: w.name },
        ports: [{ name: 'main', port: 80, targetPort: ports[0].name, protocol: ports[0].protocol ?? 'TCP' }],
      },
    });
  }

  const ingresses: Obj[] = [];
  for (const ns of namespaces) {
    const fronts = workloads.filter((w) => w.ns === ns.name && w.tier.name === 'frontend');
    if (fronts.length === 0) continue;
    ingresses.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web', namespace: ns.name },
      spec: {
        ingressClassName: 'nginx',
        rules: fronts.map((f) => ({
          host: `${f.name}.${ns.name}.example.com`,
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: f.name, port: { number: 80 } } } }] },
        })),
      },
    });
  }

  const policies = networkPolicies(size.policies, namespaces, workloads, rnd);
  const files = [
    { name: 'README.md', text: '# cluster dump\n\nkubectl get -A -o json, one file per kind.\n' },
    { name: 'values.yaml', text: 'replicaCount: 3\nimage:\n  tag: latest\n' },
    list('namespaces', 'NamespaceList', nsItems, false),
    list('workloads', 'List', controllers, true),
    list('pods', 'PodList', podItems, false),
    list('services', 'List', services, true),
    list('ingresses', 'List', ingresses, true),
    list('networkpolicies', 'NetworkPolicyList', policies, false),
  ].map((f) => ('items' in f ? render(f, format) : f));
  return { files, workloads: workloads.length + 1, pods: pods + 2, policies: policies.length, namespaces: nsCount + 1 };
}

function networkPolicies(
  count: number,
  namespaces: Array<{ name: string; env: string; team: string }>,
  workloads: Workload[],
  rnd: Rng,
): Obj[] {
  const out: Obj[] = [];
  const np = (ns: string, name: string, spec: Obj) =>
    out.push({ apiVersion: 'networking.k8s.io/v1', metadata: { name, namespace: ns }, spec });
  // One namespace in twenty stays open (no policy), as legacy namespaces do.
  const isolated = namespaces.filter((_, i) => i % 20 !== 19);
  for (const [i, ns] of isolated.entries()) {
    if (out.length >= count) break;
    np(ns.name, 'default-deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
    if (i % 5 < 2 && out.length + 2 <= count) {
      np(ns.name, 'default-deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
      np(ns.name, 'allow-dns', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
          { to: [{ podSelector: {} }] },
        ],
      });
    }
  }
  const candidates = workloads.filter((w) => isolated.some((n) => n.name === w.ns));
  let k = 0;
  while (out.length < count && candidates.length) {
    const w = candidates[Math.floor(rnd() * candidates.length)];
    const from: Obj[] = [];
    const ports: Obj[] = [];
    switch (w.tier.name) {
      case 'frontend':
        // Some admit every namespace (the ingress controller's among them), some only the outside.
        from.push({ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }, ...(rnd() < 0.5 ? [{ namespaceSelector: {} }] : []));
        ports.push({ port: 'http' });
        break;
      case 'api':
        from.push(
          { podSelector: { matchLabels: { tier: 'frontend' } } },
          { namespaceSelector: { matchLabels: { env: 'prod' } }, podSelector: { matchLabels: { tier: 'api' } } },
        );
        ports.push({ port: 'http' }, { protocol: 'TCP', port: 9000 });
        break;
      case 'db':
        from.push({ podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'worker'] }] } });
        ports.push({ port: 'postgres' });
        break;
      case 'cache':
        from.push({
          namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['t1', 't2', 't3'] }] },
          podSelector: { matchLabels: { tier: 'api' } },
        });
        ports.push({ protocol: 'TCP', port: 6379 }, { protocol: 'TCP', port: 16379, endPort: 16389 });
        break;
      case 'signalling':
        from.push(
          { ipBlock: { cidr: '192.168.0.0/16', except: ['192.168.10.0/24'] } },
          { podSelector: { matchLabels: { tier: 'signalling' } } },
        );
        ports.push({ protocol: 'SCTP', port: 'sigtran' });
        break;
      default:
        from.push({
          podSelector: {
            matchExpressions: [
              { key: 'tier', operator: 'NotIn', values: ['frontend'] },
              { key: 'version', operator: 'Exists' },
            ],
          },
        });
        ports.push({ port: 'metrics' });
    }
    const spec: Obj = { podSelector: { matchLabels: { app: w.name } }, ingress: [{ from, ports }] };
    if (rnd() < 0.3) {
      spec.policyTypes = ['Ingress', 'Egress'];
      spec.egress = [
        { to: [{ podSelector: { matchLabels: { tier: 'db' } } }], ports: [{ port: 'postgres' }] },
        {
          to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }],
          ports: [{ protocol: 'TCP', port: 443 }],
        },
        {
          to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } } }],
          ports: [{ protocol: 'UDP', port: 53 }],
        },
      ];
    }
    np(w.ns, `allow-${w.name}-${++k}`, spec);
  }
  return out;
}

function deployment(ns: string, name: string, labels: Record<string, string>, ports: Tier['ports'], replicas: number, rnd: Rng): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, uid: uid(rnd), generation: 1, labels },
    spec: { replicas, selector: { matchLabels: { app: labels.app ?? name } }, template: template(labels, ports) },
    status: { replicas, readyReplicas: replicas },
  };
}

function template(labels: Record<string, string>, ports: Tier['ports']): Obj {
  return {
    metadata: { labels },
    spec: { containers: [{ name: 'main', image: 'registry.example.com/app:1.0', ports, resources: { requests: { cpu: '100m' } } }] },
  };
}

function pod(ns: string, name: string, labels: Record<string, string>, ports: Tier['ports'], ownerRef: Obj | null, ip: string): Obj {
  return {
    metadata: { name, namespace: ns, uid: name, labels, ...(ownerRef ? { ownerReferences: [ownerRef] } : {}) },
    spec: {
      containers: [{ name: 'main', image: 'registry.example.com/app:1.0', ports }],
      nodeName: `node-${ip.length % 7}`,
      restartPolicy: 'Always',
    },
    status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], hostIP: '192.0.2.10' },
  };
}

function owner(apiVersion: string, kind: string, name: string, rnd: Rng): Obj {
  return { apiVersion, kind, name, uid: uid(rnd), controller: true, blockOwnerDeletion: true };
}

function list(name: string, kind: string, items: Obj[], withKind: boolean): { name: string; kind: string; items: Obj[] } {
  // Typed lists from the API leave `kind` out of their items; `kind: List` items keep it.
  return { name, kind, items: withKind ? items : items.map(({ kind: _kind, ...rest }) => rest) };
}

function render(f: { name: string; kind: string; items: Obj[] }, format: 'json' | 'yaml'): { name: string; text: string } {
  const doc = { apiVersion: 'v1', kind: f.kind, metadata: { resourceVersion: '12345' }, items: f.items };
  return format === 'json'
    ? { name: `${f.name}.json`, text: JSON.stringify(doc, null, 2) }
    : { name: `${f.name}.yaml`, text: stringify(doc, { aliasDuplicateObjects: false }) };
}

function weighted(tiers: readonly Tier[], rnd: Rng): Tier {
  let x = rnd() * tiers.reduce((sum, t) => sum + t.weight, 0);
  for (const t of tiers) {
    x -= t.weight;
    if (x < 0) return t;
  }
  return tiers[tiers.length - 1];
}

function hex(rnd: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += 'bcdfghjklmnpqrstvwxz2456789'[Math.floor(rnd() * 27)];
  return s;
}

function uid(rnd: Rng): string {
  return `${hex(rnd, 8)}-${hex(rnd, 4)}-${hex(rnd, 4)}`;
}
