/** Stable diagnostic codes of the data plane's backends. Programs match on these (`--json` prints them). */
export const DataplaneCode = {
  /** nft refused a script (the position in the script is the diagnostic's location). */
  NFT_REJECTED: 'E_NFT_REJECTED',
  /** A table could not be listed back (`nft -j list table`), or its listing did not parse. */
  NFT_READ: 'E_NFT_READ',
  /** A node the application does not have, or one the backend has no place for. */
  NODE: 'E_DATAPLANE_NODE',
  /** A configuration names a device (instance or monitor port) that the node does not have. */
  DEVICE: 'E_DATAPLANE_DEVICE',
  /** A configuration rendered for one node applied to another. */
  WRONG_NODE: 'E_DATAPLANE_WRONG_NODE',
  /** Counters or packets asked of a node on which nothing was applied. */
  NOT_APPLIED: 'E_DATAPLANE_NOT_APPLIED',
} as const;
