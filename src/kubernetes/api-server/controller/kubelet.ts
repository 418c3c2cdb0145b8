/**
 * The scheduler, node IPAM, kubelet and CNI of the stand-in, as small as they can be:
 *
 * - a node without `spec.podCIDR` gets the next /24 of the cluster's pod block;
 * - a pod without `spec.nodeName` is bound to the schedulable node with fewest pods (name order
 *   breaks ties), with no regard for resources, affinity or taints;
 * - a bound pod that has no address yet gets the next free address of its node's /24 (the
 *   node's own address for hostNetwork pods) and goes straight to Running and Ready, every
 *   container started. Nothing runs: the status only says so.
 *
 * A pod on a node the store does not have stays Pending, as it would on a real cluster.
 */
import { parseIpv4Cidr, formatIpv4 } from '../../../net/index.js';
import { AddressPool } from '../address-pool.js';
import { timestamp } from '../names.js';
import { at, isMap, type JsonMap, type KubeObject } from '../object.js';
import { randomUid } from '../names.js';
import type { Access } from './owners.js';

export class Kubelet {
  private readonly pools = new Map<string, AddressPool>();
  private readonly clusterPods: { base: number; prefix: number };

  constructor(
    private readonly a: Access,
    podCidr: string,
  ) {
    const parsed = parseIpv4Cidr(podCidr);
    if (!parsed.ok || parsed.cidr.prefix > 24)
      throw new RangeError(`pod CIDR ${podCidr}: ${parsed.ok ? 'must be /24 or larger' : parsed.reason}`);
    this.clusterPods = parsed.cidr;
  }

  node(node: KubeObject): void {
    if (typeof at(node, 'spec.podCIDR') === 'string') return;
    const taken = new Set(this.a.all('Node').map((n) => at(n, 'spec.podCIDR')));
    const blocks = 2 ** (24 - this.clusterPods.prefix);
    for (let i = 0; i < blocks; i++) {
      const cidr = `${formatIpv4(this.clusterPods.base + i * 256)}/24`;
      if (taken.has(cidr)) continue;
      this.a.update('Node', node, (n) => {
        n.spec = { ...(isMap(n.spec) ? n.spec : {}), podCIDR: cidr, podCIDRs: [cidr] };
      });
      return;
    }
  }

  nodeDeleted(node: KubeObject): void {
    this.pools.delete(node.metadata.name!);
  }

  pod(pod: KubeObject): void {
    if (pod.metadata.deletionTimestamp) return;
    let cur: KubeObject | undefined = pod;
    if (!at(cur, 'spec.nodeName')) {
      const node = this.pickNode();
      if (!node) return;
      cur = this.a.update('Pod', cur, (p) => ((p.spec as JsonMap).nodeName = node));
      if (!cur) return;
    }
    if (at(cur, 'status.podIP') || (at(cur, 'status.phase') !== undefined && at(cur, 'status.phase') !== 'Pending')) return;
    const node = this.a.get('Node', undefined, String(at(cur, 'spec.nodeName')));
    const hostIp = node ? nodeAddress(node) : undefined;
    if (!node || !hostIp) return;
    const ip = at(cur, 'spec.hostNetwork') === true ? hostIp : this.pool(node)?.next();
    if (!ip) return;
    this.a.update('Pod', cur, (p) => (p.status = this.running(p, ip, hostIp)), true);
  }

  podDeleted(pod: KubeObject): void {
    const ip = at(pod, 'status.podIP');
    const pool = this.pools.get(String(at(pod, 'spec.nodeName')));
    if (typeof ip === 'string' && pool && at(pod, 'spec.hostNetwork') !== true) pool.release(ip);
  }

  private pickNode(): string | undefined {
    const counts = new Map<string, number>();
    for (const n of this.a.all('Node')) if (at(n, 'spec.unschedulable') !== true) counts.set(n.metadata.name!, 0);
    for (const p of this.a.all('Pod')) {
      const n = String(at(p, 'spec.nodeName'));
      if (counts.has(n)) counts.set(n, counts.get(n)! + 1);
    }
    let best: string | undefined;
    for (const [name, n] of counts) if (best === undefined || n < counts.get(best)!) best = name;
    return best;
  }

  /** The node's address pool, made on first use with the addresses its pods already hold. */
  private pool(node: KubeObject): AddressPool | undefined {
    const name = node.metadata.name!;
    let pool = this.pools.get(name);
    if (pool) return pool;
    const cidr = at(node, 'spec.podCIDR');
    if (typeof cidr !== 'string') return undefined;
    try {
      pool = new AddressPool(cidr, true);
    } catch {
      return undefined;
    }
    for (const p of this.a.all('Pod')) {
      const ip = at(p, 'status.podIP');
      if (at(p, 'spec.nodeName') === name && typeof ip === 'string') pool.claim(ip);
    }
    this.pools.set(name, pool);
    return pool;
  }

  private running(pod: KubeObject, ip: string, hostIp: string): JsonMap {
    const now = timestamp(this.a.store.now);
    const ok = (type: string) => ({ type, status: 'True', lastProbeTime: null, lastTransitionTime: now });
    const containers = Array.isArray(at(pod, 'spec.containers')) ? (at(pod, 'spec.containers') as unknown[]).filter(isMap) : [];
    return {
      phase: 'Running',
      conditions: [ok('Initialized'), ok('Ready'), ok('ContainersReady'), ok('PodScheduled')],
      hostIP: hostIp,
      hostIPs: [{ ip: hostIp }],
      podIP: ip,
      podIPs: [{ ip }],
      startTime: now,
      qosClass: 'BestEffort',
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        containerID: `containerd://${randomUid(this.a.store.random).replace(/-/g, '')}`,
        ready: true,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: now } },
        lastState: {},
      })),
    };
  }
}

function nodeAddress(node: KubeObject): string | undefined {
  const addresses = at(node, 'status.addresses');
  const internal = Array.isArray(addresses) ? addresses.find((a) => isMap(a) && a.type === 'InternalIP') : undefined;
  return isMap(internal) && typeof internal.address === 'string' ? internal.address : undefined;
}
