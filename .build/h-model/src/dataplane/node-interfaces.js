/** Interface names inside every node namespace, shared by the renderers and the local cloud. */
export const VXLAN_IF = 'ftvx';
export const UPLINK_IF = 'ftup';
export const NODE_UPLINKS = [VXLAN_IF, UPLINK_IF];
//# sourceMappingURL=node-interfaces.js.map