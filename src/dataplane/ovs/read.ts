/**
 * What `ovs-ofctl` prints, read back: flows (`dump-flows`), their number (`dump-aggregate`),
 * meter band statistics (`meter-stats`), meter and group ids, and the bridge's port numbers (`dump-ports-desc`).
 * Lines that are not entries (the reply header) are skipped; an entry without the fields it
 * must have is an error, never a silent zero.
 */
export interface DumpedFlow {
  cookie: string;
  table: number;
  priority: number;
  packets: number;
  bytes: number;
}

/** OpenFlow's default priority: dump-flows leaves it out when a flow has it. */
const DEFAULT_PRIORITY = 32768;

const field = (line: string, name: string): string | undefined => new RegExp(`(?:^|[ ,])${name}=([^ ,]+)`).exec(line)?.[1];

/** The cookie as ovs-ofctl prints it, normalised (`0x` and no leading zeros). */
export const normCookie = (c: string) => `0x${BigInt(c).toString(16)}`;

export function parseFlowDump(text: string): DumpedFlow[] {
  const out: DumpedFlow[] = [];
  for (const line of text.split('\n')) {
    if (!/^\s*cookie=/.test(line)) continue;
    const cookie = field(line, 'cookie');
    // The match and actions come after the stats; priority is the first key of the match.
    const head = line.split(' actions=')[0];
    const packets = field(head, 'n_packets');
    const bytes = field(head, 'n_bytes');
    const prio = /(?:^|[ ,])priority=(\d+)/.exec(head)?.[1];
    if (cookie === undefined || !/^0x[0-9a-f]+$/.test(cookie)) throw new Error(`a flow without a cookie: ${line.trim()}`);
    out.push({
      cookie: normCookie(cookie),
      table: Number(field(head, 'table') ?? 0),
      priority: prio === undefined ? DEFAULT_PRIORITY : Number(prio),
      packets: packets === undefined ? 0 : Number(packets),
      bytes: bytes === undefined ? 0 : Number(bytes),
    });
  }
  return out;
}

/** The flow count of a `dump-aggregate` reply; undefined when the reply has none. */
export function parseFlowCount(text: string): number | undefined {
  const n = /(?:^|[ ,])flow_count=(\d+)/m.exec(text)?.[1];
  return n === undefined ? undefined : Number(n);
}

/** Meter id -> what its bands dropped (band 0: flowtap's meters have one band). */
export function parseMeterStats(text: string): Map<number, { packets: number; bytes: number }> {
  const out = new Map<number, { packets: number; bytes: number }>();
  let meter: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^meter:(\d+) /.exec(line.trim());
    if (m) {
      meter = Number(m[1]);
      continue;
    }
    const b = /^0: packet_count:(\d+) byte_count:(\d+)/.exec(line.trim());
    if (b && meter !== undefined) out.set(meter, { packets: Number(b[1]), bytes: Number(b[2]) });
  }
  return out;
}

/** Ids of `dump-meters` (`meter=N ...`) or `dump-groups` (`group_id=N,...`). */
export function parseIds(text: string, kind: 'meter' | 'group'): number[] {
  const re = kind === 'meter' ? /^\s*meter=(\d+)/ : /^\s*group_id=(\d+)/;
  return text
    .split('\n')
    .map((l) => re.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
}

/** OpenFlow port numbers of `dump-ports-desc` (LOCAL and other reserved names left out). */
export function parsePortNumbers(text: string): number[] {
  return text
    .split('\n')
    .map((l) => /^\s*(\d+)\(/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
}
