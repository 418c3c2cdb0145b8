/**
 * The endpoints connectivity is computed between, in one index space:
 * - pod classes: workloads with the same namespace, labels and named ports are treated
 *   alike by every policy kind, so connectivity is computed once per class pair and
 *   expanded to workloads only for output (a cluster of 5,000 pods often has far fewer
 *   classes than workload pairs);
 * - the ingress controller, a class of its own when the manifests have Ingresses. Its pod is
 *   usually not in the manifests, so, following np-guard's netpol-analyzer, it is an arbitrary
 *   in-cluster pod: no labels, in a namespace with no labels that the manifests do not declare.
 *   A NetworkPolicy admits it when a rule's peers are empty, or a peer's namespaceSelector
 *   matches such a namespace (`{}`, a NotIn) and its podSelector is absent or matches a pod
 *   without labels; an ipBlock does not (it selects addresses outside the cluster), nor does a
 *   podSelector alone (the policy's own namespace);
 * - outside address ranges: the IPv4 space cut at every block boundary the policies
 *   mention, each range decided by one address of it that lies outside the pod network.
 */
import type { K8sContainerPort, K8sImport, K8sWorkload } from '../../model/index.js';
import { cidrInterval, formatInterval, partitionByBlocks, subtractIps, type IpInterval } from '../ip-range.js';

export const INGRESS_CONTROLLER = '{ingress-controller}';

export interface PodClass {
  index: number;
  /** '' for the ingress controller. */
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** Container port names -> the port (names are unique per pod after import). */
  named: ReadonlyMap<string, K8sContainerPort>;
  /** Empty for the ingress controller. */
  workloads: K8sWorkload[];
}

export interface OutsideRange {
  index: number;
  /** `a.b.c.d-e.f.g.h`, the whole range even where the pod network lies inside it. */
  label: string;
  /** An address of the range outside the pod network. */
  representative: number;
}

/** Pod classes, the ingress controller's class last (if any); outside ranges are added later. */
export function podClasses(imp: K8sImport, withController: boolean): PodClass[] {
  const nsLabels = new Map(imp.namespaces.map((n) => [n.name, n.labels]));
  const byKey = new Map<string, PodClass>();
  const classes: PodClass[] = [];
  for (const w of imp.workloads) {
    // A workload without pods connects nothing (and has no address to be reached at).
    if (w.replicas === 0) continue;
    const key = classKey(w);
    let c = byKey.get(key);
    if (!c) {
      const named = new Map<string, K8sContainerPort>();
      for (const p of w.ports) if (p.name !== undefined && !named.has(p.name)) named.set(p.name, p);
      c = {
        index: classes.length,
        namespace: w.namespace,
        namespaceLabels: nsLabels.get(w.namespace) ?? {},
        labels: w.labels,
        named,
        workloads: [],
      };
      byKey.set(key, c);
      classes.push(c);
    }
    c.workloads.push(w);
  }
  if (withController) {
    classes.push({ index: classes.length, namespace: '', namespaceLabels: {}, labels: {}, named: new Map(), workloads: [] });
  }
  return classes;
}

function classKey(w: K8sWorkload): string {
  const labels = Object.keys(w.labels)
    .sort()
    .map((k) => `${k}=${w.labels[k]}`)
    .join(',');
  const ports = w.ports
    .filter((p) => p.name !== undefined)
    .map((p) => `${p.name}/${p.protocol}/${p.port}`)
    .sort()
    .join(',');
  return `${w.namespace}\u0000${labels}\u0000${ports}`;
}

/**
 * Ranges of the IPv4 space cut at the given block boundaries. Blocks inside the pod network
 * tell no two outside addresses apart and cut nothing; a range wholly inside it is no
 * outside address at all.
 */
export function outsideRanges(blocks: readonly string[], network: string, firstIndex: number): OutsideRange[] {
  const net = cidrInterval(network);
  const cuts: IpInterval[] = [];
  for (const text of blocks) {
    const iv = cidrInterval(text);
    if (iv && !(net && iv.lo >= net.lo && iv.hi <= net.hi)) cuts.push(iv);
  }
  const out: OutsideRange[] = [];
  for (const piece of partitionByBlocks(cuts)) {
    const outside = net ? subtractIps([piece], [net]) : [piece];
    if (outside.length === 0) continue;
    out.push({ index: firstIndex + out.length, label: formatInterval(piece), representative: outside[0].lo });
  }
  return out;
}
