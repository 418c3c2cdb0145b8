/** Stable diagnostic codes of the controller. Programs match on these (`--json` prints them). */
export const ControllerCode = {
  /** A policy file named for a deployment cannot be read. */
  NO_FILE: 'E_NO_FILE',
} as const;
