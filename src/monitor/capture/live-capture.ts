import { diag } from '../../diagnostics/index.js';
import { realSystem, type System } from '../../system/index.js';
import type { CaptureSummary, PacketCallback } from './captured-packet.js';
import { CaptureReader } from './capture-reader.js';

export interface LiveCaptureOptions {
  /** Program that writes a pcap stream to stdout (default `tcpdump`). */
  command?: string;
  /** Its arguments (default `-i IFACE -U -w - -s 0 -n`, plus `filter` if given). */
  args?: string[];
  /** A BPF filter expression appended to tcpdump's arguments. */
  filter?: string;
  /** Runs the capture program (default: the real system). */
  system?: System;
  /** Network namespace of the interface (default: the one this process runs in). */
  ns?: string;
}

export interface LiveCapture {
  /** Stop capturing; resolves with the summary once the capture process has exited. */
  stop(): Promise<CaptureSummary>;
  /** Resolves when the capture process exits by itself or after stop(). */
  readonly done: Promise<CaptureSummary>;
  /**
   * Resolves once capturing has begun (tcpdump reports "listening on", or data arrives), or
   * when the process ends first. tcpdump needs a moment to attach: traffic sent before this
   * resolves may be missed.
   */
  readonly ready: Promise<void>;
}

/**
 * Capture from a live interface by running tcpdump and parsing its pcap output as it streams.
 * The process goes through the system driver. Failure to start, or a non-zero exit, is reported
 * as a diagnostic in the summary.
 */
export function liveCapture(iface: string, onPacket: PacketCallback, opts: LiveCaptureOptions = {}): LiveCapture {
  const command = opts.command ?? 'tcpdump';
  const args = opts.args ?? ['-i', iface, '-U', '-w', '-', '-s', '0', '-n', ...(opts.filter ? [opts.filter] : [])];
  const reader = new CaptureReader(onPacket, { file: `${command}:${iface}` });
  const child = (opts.system ?? realSystem).spawn([command, ...args], { ns: opts.ns, stdout: true, stderr: true });
  let stopping = false;
  let exited = false;
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout?.on('data', (chunk: Buffer) => {
    markReady();
    reader.push(chunk);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
    if (stderr.includes('listening on')) markReady();
  });
  const done = Promise.all([child.startError, child.exited]).then(([startError, status]): CaptureSummary => {
    exited = true;
    markReady();
    const summary = reader.end();
    const problem = startError
      ? `cannot run ${command}: ${startError.message}`
      : stopping || status.code === 0
        ? null
        : `${command} exited with ${status.code !== null ? `code ${status.code}` : `signal ${status.signal}`}: ${stderr.trim()}`;
    if (problem) summary.diagnostics.push(diag('E_CAPTURE_LIVE', problem, { file: `${command}:${iface}` }));
    return summary;
  });
  return {
    done,
    ready,
    stop(): Promise<CaptureSummary> {
      stopping = true;
      if (!exited) child.kill('SIGTERM');
      return done;
    },
  };
}
