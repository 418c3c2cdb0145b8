/**
 * `flowtap connlist`: the connections Kubernetes policies (NetworkPolicies,
 * AdminNetworkPolicies and the BaselineAdminNetworkPolicy) allow between the workloads of
 * a cluster, to and from outside address ranges, and from the ingress controller to the
 * workloads Ingresses route to; in the form np-guard's netpol-analyzer `list` prints.
 *
 * Cost: the verdict of a pair is computed per pod-class pair, and only for pairs that some
 * tier can connect (an isolated class is paired with the peers its rules name); rules are
 * compiled once, their selectors evaluated over all classes with bitsets. Workload pairs
 * appear only when the result is expanded into lines, so time is about the size of the
 * answer plus (classes x rules) bit operations. A workload's connections to itself are not
 * listed, as the reference analyzers list none (its replicas may well reach each other).
 */
import { diag, type Diagnostic } from '../../diagnostics/index.js';
import type { K8sImport, K8sWorkload } from '../../model/index.js';
import { connIntersect, connIsEmpty, formatConnSet, type ConnSet } from '../conn-set.js';
import type { ConnlistEntry } from '../connlist.js';
import type { Bitset } from './bitset.js';
import { INGRESS_CONTROLLER, outsideRanges, podClasses } from './endpoints.js';
import { ingressTargets } from './ingress-controller.js';
import { candidatePeers, compileTiers, policyBlocks, verdict } from './policy-tiers.js';
import { SelectorIndex } from './selector-index.js';

export interface K8sConnectivity {
  /** Ingress backends that reach no workload or that the policies block. */
  notes: Diagnostic[];
  /** How many lines `entries` yields. */
  size: number;
  /**
   * One entry per (src, dst) with some connection, sorted by line; made as they are read,
   * since a large cluster has hundreds of thousands.
   */
  entries(): Iterable<ConnlistEntry>;
}

/** A destination as listed: its rank in the order of all labels, and its connections' text. */
type Destinations = Float64Array;

export function k8sConnectivity(imp: K8sImport): K8sConnectivity {
  const notes: Diagnostic[] = [];
  const withController = (imp.ingresses ?? []).some((i) => i.backends.length > 0);
  const classes = podClasses(imp, withController);
  const pods = withController ? classes.length - 1 : classes.length;
  const controller = withController ? pods : -1;

  // Which ipBlocks cut the outside depends on which policies select pods: a first index
  // answers that, the second spans the outside ranges too.
  const blocks = policyBlocks(imp, new SelectorIndex(classes, classes.length));
  const outside = outsideRanges(blocks, imp.app.network, classes.length);
  const size = classes.length + outside.length;
  const index = new SelectorIndex(classes, size);
  const { egress, ingress } = compileTiers(imp, { classes, outside, size, index });

  // Every label that can start or end a line, ranked once: lines are then ordered by rank.
  const workloads = classes.flatMap((c) => c.workloads);
  const labels = [...workloads.map((w) => `${w.id}[${w.kind}]`), ...outside.map((r) => r.label), INGRESS_CONTROLLER];
  const order = labels.map((_, i) => i).sort((a, b) => (labels[a] < labels[b] ? -1 : labels[a] > labels[b] ? 1 : 0));
  const rank = new Int32Array(labels.length);
  order.forEach((item, r) => {
    rank[item] = r;
  });
  const workloadItem = new Map<K8sWorkload, number>(workloads.map((w, i) => [w, i]));
  const rangeItem = (r: number) => workloads.length + (r - classes.length);
  const controllerItem = labels.length - 1;

  // Connection texts, one per distinct set (sets repeat across thousands of pairs).
  const texts: string[] = [];
  const textIds = new Map<string, number>();
  const bySet = new WeakMap<ConnSet, number>();
  const textOf = (conn: ConnSet): number => {
    let id = bySet.get(conn);
    if (id !== undefined) return id;
    const t = formatConnSet(conn);
    id = textIds.get(t);
    if (id === undefined) {
      id = texts.length;
      texts.push(t);
      textIds.set(t, id);
    }
    bySet.set(conn, id);
    return id;
  };

  // Per source: destinations as rank * TEXT_SLOTS + text id, sorted; shared by every workload of a class.
  const bySource = new Map<number, Destinations>();
  const add = (list: number[], item: number, text: number) => list.push(rank[item] * TEXT_SLOTS + text);
  const finish = (source: number, list: number[]) => {
    if (list.length) bySource.set(source, Float64Array.from(list).sort());
  };

  const egressPeers = classes.map((_, s) => candidatePeers(egress, s, size));
  const ingressPeers = classes.map((_, d) => candidatePeers(ingress, d, size));
  const openIngress: number[] = [];
  const incoming: number[][] = Array.from({ length: pods }, () => []);
  for (let d = 0; d < pods; d++) {
    const from = ingressPeers[d];
    if (from === null) openIngress.push(d);
    else
      from.forEach((s) => {
        if (s < pods && egressPeers[s] === null) incoming[s].push(d);
      });
  }
  for (let s = 0; s < pods; s++) {
    const list: number[] = [];
    const pair = (d: number) => {
      const dst = classes[d];
      const conn = connIntersect(verdict(egress, s, d, dst), verdict(ingress, d, s, dst));
      if (connIsEmpty(conn)) return;
      const text = textOf(conn);
      for (const w of dst.workloads) add(list, workloadItem.get(w)!, text);
    };
    const to: Bitset | null = egressPeers[s];
    if (to === null) {
      for (const d of openIngress) pair(d);
      for (const d of incoming[s]) pair(d);
    } else {
      to.forEach((d) => {
        if (d < pods && (ingressPeers[d] === null || ingressPeers[d]!.has(s))) pair(d);
      });
    }
    // Outside peers: only the pod's own side decides.
    for (const range of outside) {
      const conn = verdict(egress, s, range.index, null);
      if (!connIsEmpty(conn)) add(list, rangeItem(range.index), textOf(conn));
    }
    finish(s, list);
  }
  for (const range of outside) {
    const list: number[] = [];
    for (let d = 0; d < pods; d++) {
      const conn = verdict(ingress, d, range.index, classes[d]);
      if (connIsEmpty(conn)) continue;
      const text = textOf(conn);
      for (const w of classes[d].workloads) add(list, workloadItem.get(w)!, text);
    }
    finish(range.index, list);
  }
  if (controller >= 0) {
    const list: number[] = [];
    for (const [c, target] of ingressTargets(imp, classes, index, notes)) {
      const cls = classes[c];
      const allowed = connIntersect(connIntersect(verdict(egress, controller, c, cls), verdict(ingress, c, controller, cls)), target.conn);
      if (connIsEmpty(allowed)) {
        notes.push(
          diag(
            'W_K8S_INGRESS_BLOCKED',
            `Ingress ${target.ingresses.join(', ')} routes to ${cls.workloads.map((w) => labels[workloadItem.get(w)!]).join(', ')}, ` +
              'but its policies refuse an arbitrary in-cluster source (the ingress controller is not in the manifests); no connection is listed',
            target.loc,
          ),
        );
        continue;
      }
      const text = textOf(allowed);
      for (const w of cls.workloads) add(list, workloadItem.get(w)!, text);
    }
    finish(controller, list);
  }

  // Sources in label order, each with its class's destinations minus itself.
  const sources: Array<{ item: number; source: number }> = [];
  for (const c of classes.slice(0, pods)) for (const w of c.workloads) sources.push({ item: workloadItem.get(w)!, source: c.index });
  for (const r of outside) sources.push({ item: rangeItem(r.index), source: r.index });
  if (controller >= 0) sources.push({ item: controllerItem, source: controller });
  sources.sort((a, b) => rank[a.item] - rank[b.item]);

  let count = 0;
  for (const { item, source } of sources) {
    const list = bySource.get(source);
    if (!list) continue;
    count += list.length;
    // A workload is not listed as its own destination.
    const self = rank[item];
    for (const x of list) if (Math.floor(x / TEXT_SLOTS) === self) count--;
  }

  function* entries(): Generator<ConnlistEntry> {
    for (const { item, source } of sources) {
      const list = bySource.get(source);
      if (!list) continue;
      const src = labels[item];
      const self = rank[item];
      for (const x of list) {
        const r = Math.floor(x / TEXT_SLOTS);
        if (r !== self) yield { src, dst: labels[order[r]], conn: texts[x - r * TEXT_SLOTS] };
      }
    }
  }
  return { notes, size: count, entries };
}

/** Room for distinct connection texts in one destination number (rank * TEXT_SLOTS + text id). */
const TEXT_SLOTS = 2 ** 24;
