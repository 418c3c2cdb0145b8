import type { Diagnostic } from '../../diagnostics/index.js';

/**
 * One captured frame as handed to a packet callback.
 * The object and the bytes behind `data` are reused: they are valid only during the callback.
 * Copy (`data.slice()`) anything that must outlive it.
 */
export interface CapturedPacket {
  /** Seconds since the epoch, as a float. */
  ts: number;
  linktype: number;
  /** A view into the reader's input (never copied when the record lies inside one chunk). */
  data: Uint8Array;
  caplen: number;
  origlen: number;
  /** 1-based number of the packet record in the file. */
  index: number;
  /** pcapng interface id (0 for classic pcap). */
  interfaceId: number;
}

export type PacketCallback = (pkt: CapturedPacket) => void;

type CaptureFormat = 'unknown' | 'pcap' | 'pcapng';

export interface CaptureStats {
  format: CaptureFormat;
  packets: number;
  /** Captured bytes handed to the callback. */
  bytes: number;
  /** Errors seen (every one counted; only the first `maxDiagnostics` are kept as diagnostics). */
  errors: number;
  /** Input bytes skipped without parsing (unknown pcapng blocks). */
  skippedBytes: number;
  /** True once a corrupted record stopped the reader: later input is ignored. */
  stopped: boolean;
}

export interface CaptureSummary {
  stats: CaptureStats;
  diagnostics: Diagnostic[];
}
