/**
 * The cache as flowtap's model: which namespace holds the application (annotations.ts), its
 * workloads, Services and NetworkPolicies through the manifest import (src/model/k8s) so they
 * mean what they mean in `flowtap connlist`, its requirements through the descriptor's parser
 * (requirements.ts), and its instances, nodes and addresses from the pods themselves.
 */
import { type Diagnostic, diag, fail, ok, type Result } from '../diagnostics/index.js';
import {
  type Addressing,
  type App,
  type Attachment,
  DEFAULT_NETWORK,
  type Instance,
  type K8sImport,
  type ManifestFile,
  parseK8sManifests,
  type Service,
} from '../model/index.js';
import { formatCidr, parseIpv4, parseIpv4Cidr } from '../net/index.js';
import type { ManagementContext } from '../orchestrator/index.js';

import { APP_KEY, EXPOSURE_ANNOTATION, NETWORK_ANNOTATION, TENANT_KEY } from './annotations.js';
import { KubernetesCode } from './codes.js';
import { isUp, type ObjectLookup, type PodView, podView, WORKLOAD_KINDS, type WorkloadRef, workloadOf } from './pods.js';
import { checkRequirements } from './requirements.js';
import { isRecord, type KubeObject, REQUIREMENTS_CONFIGMAP } from './watch/index.js';

type InstanceState = ManagementContext['status'][string];

export interface ClusterModel {
  namespace: string;
  app: App;
  addressing: Addressing;
  /**
   * The namespace's objects as `flowtap connlist` reads manifests (NetworkPolicies included):
   * services `namespace/name`, virtual instances and addresses; what the cluster's own policies
   * allow is `netpolsToRuleset` of it.
   */
  imported: K8sImport;
  /** Instance (pod) -> running / isolated / terminated. */
  status: Record<string, InstanceState>;
  /** Instance -> its pod as last seen. */
  pods: Record<string, PodView>;
  /** Service -> the workload it stands for. */
  workloads: Record<string, WorkloadRef>;
  /** What was left out or could not be read, each with where. */
  problems: Diagnostic[];
  /** The requirements section could not be used: the model has none, and a firewall inferred from it would cut everything. */
  requirementsBroken: boolean;
}

/** The namespace labelled (or annotated) as application `app`, or why there is none. */
function appNamespace(look: ObjectLookup, app: string): Result<KubeObject> {
  const found: KubeObject[] = [];
  const errors: Diagnostic[] = [];
  for (const ns of look.objects('Namespace')) {
    const v = flowtapKey(ns, APP_KEY);
    if (typeof v === 'object') errors.push(v);
    else if (v === app) found.push(ns);
  }
  if (found.length === 1) return ok(found[0]);
  if (found.length > 1)
    return fail(
      diag(
        KubernetesCode.APP,
        `namespaces ${found.map((n) => n.metadata.name).join(', ')} are all labelled ${APP_KEY}=${app}; an application lives in one namespace`,
      ),
    );
  return fail([
    ...errors,
    diag(
      KubernetesCode.APP,
      `no namespace is labelled ${APP_KEY}=${app}; label the application's namespace (kubectl label namespace NAME ${APP_KEY}=${app})`,
    ),
  ]);
}

export function mapCluster(look: ObjectLookup, appName: string): Result<ClusterModel> {
  const found = appNamespace(look, appName);
  if (!found.ok) return found;
  const nsObject = found.value;
  const ns = nsObject.metadata.name;
  const problems: Diagnostic[] = [];
  const tenantKey = flowtapKey(nsObject, TENANT_KEY);
  if (typeof tenantKey === 'object') return fail(tenantKey);
  const tenant = tenantKey ?? 'default';

  const inNs = (kind: string) => [...look.objects(kind)].filter((o) => (o.metadata.namespace ?? 'default') === ns);
  const pods = inNs('Pod');
  const workloadOfPod = new Map(pods.map((p) => [p.metadata.name, workloadOf(p, look)]));

  // One manifest per object, so an object the import refuses can be left out alone.
  const files: ManifestFile[] = [];
  const objectOf = new Map<string, KubeObject>();
  const add = (kind: string, apiVersion: string, o: KubeObject) => {
    const file = `${ns}/${kind}/${o.metadata.name}`;
    objectOf.set(file, o);
    files.push({ file, text: JSON.stringify(slim(kind, apiVersion, o)) });
  };
  add('Namespace', 'v1', nsObject);
  for (const kind of WORKLOAD_KINDS) for (const o of inNs(kind)) add(kind, 'apps/v1', o);
  for (const p of pods) {
    const w = workloadOfPod.get(p.metadata.name)!;
    const terminal = podView(p).phase === 'Succeeded' || podView(p).phase === 'Failed';
    // Pods of a known workload are its replicas; the import groups the others under their owner.
    if (!terminal && !(WORKLOAD_KINDS as readonly string[]).includes(w.kind)) add('Pod', 'v1', p);
  }
  for (const o of inNs('Service')) add('Service', 'v1', o);
  for (const o of inNs('NetworkPolicy')) add('NetworkPolicy', 'networking.k8s.io/v1', o);

  let imported = parseK8sManifests(files, { tenant, name: appName });
  if (!imported.ok) {
    const refused = new Set(imported.errors.map((d) => d.loc?.file).filter((f): f is string => f !== undefined));
    problems.push(...imported.errors);
    for (const f of refused)
      problems.push(diag(KubernetesCode.SKIPPED, `${f.replace(/^[^/]*\//, '')} is left out: the import refuses it`, { file: f }));
    if (refused.has(files[0].file)) return fail(problems);
    imported = parseK8sManifests(
      files.filter((f) => !refused.has(f.file)),
      { tenant, name: appName },
    );
    if (!imported.ok) return fail([...problems, ...imported.errors]);
  }
  problems.push(...imported.value.notes);

  // Imported services are `namespace/name`: one namespace per application, so the name alone.
  const workloads: Record<string, WorkloadRef> = {};
  const kinds = new Map(imported.value.workloads.map((w) => [w.id, w.kind]));
  let services: Service[] = imported.value.app.services.map((s) => {
    const name = s.name.slice(s.name.indexOf('/') + 1);
    workloads[name] = { kind: kinds.get(s.name) ?? 'Pod', name };
    const exposure = exposureOf(objectOf.get(`${ns}/${workloads[name].kind}/${name}`), problems);
    return { ...s, name, placement: [], ...(exposure ? { exposure } : {}) };
  });

  const checked = checkRequirements(look.get('ConfigMap', `${ns}/${REQUIREMENTS_CONFIGMAP}`), {
    namespace: ns,
    tenant,
    app: appName,
    services,
  });
  if (checked.fatal.length) return fail(checked.fatal);
  problems.push(...checked.problems, ...checked.unusable.values());
  services = services.filter((s) => !checked.unusable.has(s.name));
  for (const name of checked.unusable.keys()) delete workloads[name];

  const serviceNames = new Set(services.map((s) => s.name));
  const views: PodView[] = [];
  const serviceOfPod = new Map<string, string>();
  for (const p of pods) {
    const v = podView(p);
    if (!v.ip || !v.node || !(isUp(v) || v.terminating || v.phase === 'Succeeded' || v.phase === 'Failed')) continue;
    if (parseIpv4(v.ip) === undefined) {
      problems.push(
        diag(KubernetesCode.SKIPPED, `pod ${ns}/${v.name} is left out: its address ${v.ip} is not IPv4`, { file: `${ns}/Pod/${v.name}` }),
      );
      continue;
    }
    const w = workloadOfPod.get(v.name)!;
    if (!serviceNames.has(w.name)) {
      problems.push(
        diag(KubernetesCode.SKIPPED, `pod ${ns}/${v.name} is left out: its ${w.kind} ${w.name} is not in the model`, {
          file: `${ns}/Pod/${v.name}`,
        }),
      );
      continue;
    }
    views.push(v);
    serviceOfPod.set(v.name, w.name);
  }
  views.sort((a, b) => cmp(serviceOfPod.get(a.name)!, serviceOfPod.get(b.name)!) || cmp(a.name, b.name));

  const nodeNames = [...new Set(views.map((v) => v.node!))].sort(cmp);
  const addressing: Addressing = { instances: {}, monitors: {}, nodes: {} };
  for (const [index, node] of nodeNames.entries()) {
    const here = views.filter((v) => v.node === node);
    const lowest = Math.min(...here.map((v) => parseIpv4(v.ip!)!));
    addressing.nodes[node] = {
      ip: here.find((v) => v.hostIP)?.hostIP ?? '',
      index,
      // The usual per-node pod block; the cluster's Node objects (not followed) would say exactly.
      subnet: formatCidr({ base: (lowest & 0xffffff00) >>> 0, prefix: 24 }),
      // The CNI routes pods; there is no gateway flowtap knows of.
      gateway: '',
    };
  }
  const instances: Instance[] = [];
  const status: Record<string, InstanceState> = {};
  const podsOut: Record<string, PodView> = {};
  const ordinals = new Map<string, number>();
  for (const v of views) {
    const service = serviceOfPod.get(v.name)!;
    const ordinal = ordinals.get(service) ?? 0;
    ordinals.set(service, ordinal + 1);
    instances.push({ name: v.name, service, ordinal, node: v.node! });
    // The CNI names the pod's interface on the node and its MAC; neither is in the API.
    const at: Attachment = { instance: v.name, node: v.node!, port: '', ip: v.ip!, mac: '' };
    addressing.instances[v.name] = at;
    status[v.name] =
      v.terminating || v.phase === 'Succeeded' || v.phase === 'Failed' ? 'terminated' : v.quarantined ? 'isolated' : 'running';
    podsOut[v.name] = v;
  }

  const network = networkOf(nsObject, views, problems);
  const app: App = {
    tenant,
    name: appName,
    network,
    nodes: nodeNames.map((name) => ({ name })),
    services,
    monitors: [],
    requirements: checked.requirements,
    instances,
    source: `kubernetes namespace ${ns}`,
  };
  return ok({
    namespace: ns,
    app,
    addressing,
    imported: imported.value,
    status,
    pods: podsOut,
    workloads,
    problems,
    requirementsBroken: checked.broken,
  });
}

/**
 * A flowtap key of a namespace, from its label or its annotation: undefined when neither is
 * set, a diagnostic when they disagree or the value is empty.
 */
function flowtapKey(ns: KubeObject, key: string): string | undefined | Diagnostic {
  const label = ns.metadata.labels?.[key];
  const annotation = ns.metadata.annotations?.[key];
  if (label !== undefined && annotation !== undefined && label !== annotation)
    return diag(
      KubernetesCode.APP,
      `namespace ${ns.metadata.name} has label ${key}=${label} but annotation ${key}=${annotation}; keep one`,
      {
        file: `namespace/${ns.metadata.name}`,
        field: `metadata.labels.${key}`,
      },
    );
  const v = label ?? annotation;
  if (v === '')
    return diag(KubernetesCode.APP, `namespace ${ns.metadata.name}: ${key} is empty`, {
      file: `namespace/${ns.metadata.name}`,
      field: `metadata.labels.${key}`,
    });
  return v;
}

function exposureOf(o: KubeObject | undefined, problems: Diagnostic[]): 'public' | 'internal' | undefined {
  const v = o?.metadata.annotations?.[EXPOSURE_ANNOTATION];
  if (v === undefined) return undefined;
  if (v === 'public' || v === 'internal') return v;
  problems.push(
    diag(
      KubernetesCode.APP,
      `${o!.metadata.namespace}/${o!.metadata.name}: ${EXPOSURE_ANNOTATION} is "${v}", not public or internal; ignored`,
      {
        file: `${o!.metadata.namespace}/${o!.metadata.name}`,
        field: `metadata.annotations.${EXPOSURE_ANNOTATION}`,
      },
    ),
  );
  return undefined;
}

/** The annotation's block, else the /16 (or wider) covering every pod address, else the descriptor default. */
function networkOf(ns: KubeObject, views: PodView[], problems: Diagnostic[]): string {
  const given = ns.metadata.annotations?.[NETWORK_ANNOTATION];
  if (given !== undefined) {
    const parsed = parseIpv4Cidr(given);
    if (parsed.ok) return formatCidr(parsed.cidr);
    problems.push(
      diag(
        KubernetesCode.APP,
        `namespace ${ns.metadata.name}: ${NETWORK_ANNOTATION} "${given}" is not an IPv4 block: ${parsed.reason}; ignored`,
        {
          file: `namespace/${ns.metadata.name}`,
          field: `metadata.annotations.${NETWORK_ANNOTATION}`,
        },
      ),
    );
  }
  const ips = views.map((v) => parseIpv4(v.ip!)!);
  if (!ips.length) return DEFAULT_NETWORK;
  let prefix = 16;
  const lo = Math.min(...ips);
  const hi = Math.max(...ips);
  while (prefix > 0 && ((lo ^ hi) & mask(prefix)) !== 0) prefix--;
  return formatCidr({ base: (lo & mask(prefix)) >>> 0, prefix });
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** What the import reads of an object, and no more: less text to parse on every rebuild. */
function slim(kind: string, apiVersion: string, o: KubeObject): Record<string, unknown> {
  const m = o.metadata;
  const metadata: Record<string, unknown> = { name: m.name };
  if (m.namespace) metadata.namespace = m.namespace;
  if (m.labels) metadata.labels = m.labels;
  if (kind === 'Pod' && m.ownerReferences)
    metadata.ownerReferences = m.ownerReferences.map((r) => ({ kind: r.kind, name: r.name, controller: r.controller === true }));
  const spec = isRecord(o.spec) ? o.spec : {};
  let out: Record<string, unknown> = {};
  if (kind === 'Pod') out = { containers: containersOf(spec) };
  else if ((WORKLOAD_KINDS as readonly string[]).includes(kind)) {
    const template = isRecord(spec.template) ? spec.template : {};
    const tmeta = isRecord(template.metadata) ? template.metadata : {};
    const tspec = isRecord(template.spec) ? template.spec : {};
    out = {
      ...(spec.replicas !== undefined ? { replicas: spec.replicas } : {}),
      template: { metadata: { labels: tmeta.labels ?? {} }, spec: { containers: containersOf(tspec) } },
    };
  } else if (kind === 'Service') out = { type: spec.type, selector: spec.selector };
  else if (kind === 'NetworkPolicy') out = spec;
  return { apiVersion, kind, metadata, ...(kind === 'Namespace' ? {} : { spec: out }) };
}

function containersOf(spec: Record<string, unknown>): unknown[] {
  return (Array.isArray(spec.containers) ? spec.containers : []).map((c) => (isRecord(c) ? { name: c.name, ports: c.ports ?? [] } : c));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
