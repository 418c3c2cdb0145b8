/** Interface names inside every node namespace, shared by the renderers and the local cloud. */
/* Not of the form ft<base36>/fm<base36>: those are instance and monitor ports (model/addressing). */
export const VXLAN_IF = 'vx-ft';
export const UPLINK_IF = 'up-ft';
export const NODE_UPLINKS = [VXLAN_IF, UPLINK_IF];

/** The outside world's address on the underlay (clients "from outside" in the local cloud). */
export const EXTERNAL_IP = '10.250.0.254';
/** Overlay addresses of the nodes on the VXLAN link between them. */
export const OVERLAY_NETWORK = '10.251.0.0/24';
export const overlayIp = (nodeIndex: number) => `10.251.0.${nodeIndex + 1}`;
