/**
 * Monitor placement: which security monitor inspects which flow group, and for how much of it.
 * Every type here is plain JSON so that a placement can be stored in the context broker and fed
 * back into re-placement after a restart.
 */
/** Default source ports of a flow group: the ephemeral range clients draw their ports from. */
export const DEFAULT_SRC_PORT_RANGE = [1024, 65535];
//# sourceMappingURL=placement-types.js.map