/**
 * The source ports flowtap's own live probe connects from: just above Linux's default
 * ephemeral range (32768-60999), so no ordinary client picks them by chance. Monitors never
 * suppress a notice from them (one probe must not hide the next real attack of the same pair
 * for an hour), and the controller takes a denied connection for the probe's only when it came
 * from these ports while a probe was announced. An attacker using them gains nothing: outside a
 * probe window their notices are answered like any other, and inside one they still raise notices.
 */
export const PROBE_SOURCE_PORTS = { first: 61000, last: 61999 } as const;

export function isProbeSourcePort(port: number | undefined): boolean {
  return port !== undefined && port >= PROBE_SOURCE_PORTS.first && port <= PROBE_SOURCE_PORTS.last;
}
