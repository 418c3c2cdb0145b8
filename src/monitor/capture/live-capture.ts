import { spawn } from 'node:child_process';
import { diag } from '../../diagnostics/index.js';
import type { CaptureSummary, PacketCallback } from './captured-packet.js';
import { CaptureReader } from './capture-reader.js';

export interface LiveCaptureOptions {
  /** Program that writes a pcap stream to stdout (default `tcpdump`). */
  command?: string;
  /** Its arguments (default `-i IFACE -U -w - -s 0 -n`, plus `filter` if given). */
  args?: string[];
  /** A BPF filter expression appended to tcpdump's arguments. */
  filter?: string;
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
 * This is an edge: it spawns a process. Failure to start, or a non-zero exit, is reported as a
 * diagnostic in the summary.
 */
export function liveCapture(iface: string, onPacket: PacketCallback, opts: LiveCaptureOptions = {}): LiveCapture {
  const command = opts.command ?? 'tcpdump';
  const args = opts.args ?? ['-i', iface, '-U', '-w', '-', '-s', '0', '-n', ...(opts.filter ? [opts.filter] : [])];
  const reader = new CaptureReader(onPacket, { file: `${command}:${iface}` });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stopping = false;
  let stderr = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    markReady();
    reader.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
    if (stderr.includes('listening on')) markReady();
  });
  const done = new Promise<CaptureSummary>((resolve) => {
    let settled = false;
    const finish = (problem?: string): void => {
      if (settled) return;
      settled = true;
      markReady();
      const summary = reader.end();
      if (problem) summary.diagnostics.push(diag('E_CAPTURE_LIVE', problem, { file: `${command}:${iface}` }));
      resolve(summary);
    };
    child.on('error', (e) => finish(`cannot run ${command}: ${e.message}`));
    child.on('close', (code, signal) => {
      if (stopping || code === 0) finish();
      else finish(`${command} exited with ${code !== null ? `code ${code}` : `signal ${signal}`}: ${stderr.trim()}`);
    });
  });
  return {
    done,
    ready,
    stop(): Promise<CaptureSummary> {
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return done;
    },
  };
}
