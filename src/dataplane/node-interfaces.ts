/** Interface names inside every node namespace, shared by the renderers and the local cloud. */
/* Not of the form ft<base36>/fm<base36>: those are instance and monitor ports (model/addressing). */
export const VXLAN_IF = 'vx-ft';
export const UPLINK_IF = 'up-ft';
export const NODE_UPLINKS = [VXLAN_IF, UPLINK_IF];
