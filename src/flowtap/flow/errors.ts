/** Diagnostic codes of the flow language, one per kind of mistake. */
export const FLOW_ERRORS = {
  /** Not a `field=value` or shorthand element at all (`=80`, `tcp=1`, `nw_src` alone). */
  SYNTAX: 'E_FLOW_SYNTAX',
  UNKNOWN_FIELD: 'E_FLOW_UNKNOWN_FIELD',
  /** The value does not parse for the field (`nw_src=10.0.0`). */
  BAD_VALUE: 'E_FLOW_BAD_VALUE',
  /** The value parses but is out of the field's range (`dl_vlan=5000`, `nw_tos=5`). */
  OUT_OF_RANGE: 'E_FLOW_OUT_OF_RANGE',
  /** A mask or range on a field that has none in OVS (`nw_proto=6/0xf`). */
  NOT_MASKABLE: 'E_FLOW_NOT_MASKABLE',
  /** The same field given twice with no value in common (`tcp,udp`, `tp_dst=80,tp_dst=443`). */
  CONFLICT: 'E_FLOW_CONFLICT',
  /** A field whose prerequisites are not in the match (`tp_dst=80` without `tcp`). */
  PREREQ: 'E_FLOW_PREREQ',
  INVERTED_RANGE: 'E_FLOW_INVERTED_RANGE',
  /** A packet description with a field that is not one value (`--packet nw_src=10.0.0.0/8`). */
  NOT_CONCRETE: 'E_PACKET_NOT_CONCRETE',
} as const;

/** Edit distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

/** The closest known name, if it is close enough to be a plausible typo. */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(lower, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
