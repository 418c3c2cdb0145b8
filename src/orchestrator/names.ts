/**
 * Names of everything the local cloud creates. One prefix per application lets `down`
 * find leftovers of a crashed or half-finished `up` even without a state file.
 */
export function nsPrefix(app: string): string {
  return `ft-${app}-`;
}
export const nodeNs = (app: string, node: string) => `${nsPrefix(app)}n-${node}`;
export const instanceNs = (app: string, instance: string) => `${nsPrefix(app)}i-${instance}`;
export const monitorNs = (app: string, monitor: string) => `${nsPrefix(app)}m-${monitor}`;
/** The underlay: a bridge joining every node's uplink and the outside world. */
export const underlayNs = (app: string) => `${nsPrefix(app)}underlay`;
/** The outside world: external clients (load generator, probes "from outside") run here. */
export const externalNs = (app: string) => `${nsPrefix(app)}external`;

/** Interface names inside namespaces. */
export const INSTANCE_IF = 'eth0';
export const MONITOR_IF = 'eth0';
export const UNDERLAY_BRIDGE = 'br0';
export const UNDERLAY_PREFIX = 24;
export const VXLAN_PORT = 4789;
