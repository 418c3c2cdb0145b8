/** Why a frame was not decoded. Each is a counter in DecodeStats. */
export type DecodeReason =
  | 'unsupported_linktype'
  | 'truncated_eth'
  | 'truncated_vlan'
  | 'too_many_vlans'
  | 'truncated_sll'
  | 'truncated_null'
  | 'truncated_ip'
  | 'bad_ip_version'
  | 'bad_ihl'
  | 'bad_total_length'
  | 'truncated_ip6_ext'
  | 'too_many_ip6_ext'
  | 'truncated_tcp'
  | 'bad_tcp_offset'
  | 'truncated_udp'
  | 'bad_udp_length'
  | 'truncated_icmp'
  | 'truncated_vxlan'
  | 'vxlan_too_deep'
  | 'bad_frag'
  | 'frag_too_big';

export const DECODE_REASONS: readonly DecodeReason[] = [
  'unsupported_linktype',
  'truncated_eth',
  'truncated_vlan',
  'too_many_vlans',
  'truncated_sll',
  'truncated_null',
  'truncated_ip',
  'bad_ip_version',
  'bad_ihl',
  'bad_total_length',
  'truncated_ip6_ext',
  'too_many_ip6_ext',
  'truncated_tcp',
  'bad_tcp_offset',
  'truncated_udp',
  'bad_udp_length',
  'truncated_icmp',
  'truncated_vxlan',
  'vxlan_too_deep',
  'bad_frag',
  'frag_too_big',
];

/** Counters kept by a decoder. Skip reasons count dropped frames; the rest are events. */
export class DecodeStats {
  packets = 0;
  /** Frames decoded into an IP packet. */
  decoded = 0;
  /** Frames skipped as malformed (sum of the reason counters). */
  malformed = 0;
  /** Frames carrying something other than IP (ARP, LLDP, ...), skipped without complaint. */
  non_ip = 0;
  /** IP packets with a transport protocol the monitor does not dissect (payload still given). */
  other_proto = 0;
  /** Inner frames decoded out of VXLAN. */
  vxlan = 0;
  /** Fragments received and held for reassembly. */
  fragments = 0;
  /** Datagrams completed from fragments. */
  reassembled = 0;
  /** Fragments overlapping data already held (first received wins). */
  frag_overlap = 0;
  /** ... of which the overlapping bytes differed: a likely evasion attempt. */
  frag_overlap_differs = 0;
  /** Datagrams dropped to make room in a full fragment table. */
  frag_table_full = 0;
  /** Datagrams dropped incomplete after the fragment timeout. */
  frag_timeout = 0;

  unsupported_linktype = 0;
  truncated_eth = 0;
  truncated_vlan = 0;
  too_many_vlans = 0;
  truncated_sll = 0;
  truncated_null = 0;
  truncated_ip = 0;
  bad_ip_version = 0;
  bad_ihl = 0;
  bad_total_length = 0;
  truncated_ip6_ext = 0;
  too_many_ip6_ext = 0;
  truncated_tcp = 0;
  bad_tcp_offset = 0;
  truncated_udp = 0;
  bad_udp_length = 0;
  truncated_icmp = 0;
  truncated_vxlan = 0;
  vxlan_too_deep = 0;
  bad_frag = 0;
  frag_too_big = 0;

  /** Non-zero counters, for logs and reports. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this)) if (typeof v === 'number' && v !== 0) out[k] = v;
    return out;
  }
}
