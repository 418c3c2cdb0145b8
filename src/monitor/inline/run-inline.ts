import { diag, type Diagnostic } from '../../diagnostics/index.js';
import { INLINE_TABLE, inlineCommands, MONITOR_RETURN_IF, MONITOR_TAP_IF, renderInlineTable } from '../../dataplane/index.js';
import type { DecodedPacket } from '../decode/index.js';
import type { LogValue } from '../logs/index.js';
import type { Decision } from '../policy/index.js';
import type { Connection } from '../tcp/index.js';
import { realSystem, type System } from '../../system/index.js';
import { InlineGate, type InlineGateOptions, type InlineGateStats } from './gate.js';
import { NftSession } from './nft-session.js';

export interface InlineOptions {
  /** Inside the monitor namespace: where taps arrive and where passed frames leave (default eth0, eth1). */
  tapIf?: string;
  returnIf?: string;
  table?: string;
  /** Replace the namespace's inline table at start, with empty verdict sets (default true). */
  install?: boolean;
  /** Seconds between heartbeats; `alive` lasts four of them, so a dead process hands over within that (default 0.5). */
  heartbeat?: number;
  gate?: Partial<Omit<InlineGateOptions, 'hasParser' | 'commands'>>;
  /** The nft program (tests). */
  nft?: string;
  /** Runs nft (default: the real system). */
  system?: System;
  /** The monitor namespace whose inline table this drives (default: the one this process runs in). */
  ns?: string;
}

export interface InlineSummary extends InlineGateStats {
  nftLines: number;
  nftErrors: number;
}

/** What the engine needs from the inline mode, and its lifecycle. */
export interface InlineRun {
  /** For MonitorEngineOptions.observer. */
  readonly observer: {
    packet(dp: DecodedPacket, conn: Connection | null, frame: Uint8Array): void;
    weird(uid: string, name: string, source: string): void;
  };
  /** For MonitorPolicy.decisions. */
  decision(d: Decision): void;
  /** Installs the table (unless told not to) and starts deciding; diagnostics when it cannot. */
  start(): Promise<Diagnostic[]>;
  /** Hands every flow to its failMode now and ends the nft session. */
  stop(): Promise<void>;
  summary(): InlineSummary;
  /** nft errors (the first 20), as diagnostics for the run report. */
  diagnostics(): Diagnostic[];
}

const MAX_REPORTED_ERRORS = 20;

/**
 * The inline mode of `flowtap monitor` (run in a monitor namespace): the gate's decisions go to
 * the namespace's table through one `nft -i` session, its rows to inline.log, and a heartbeat
 * keeps the table's `alive` element while the process runs and is not overloaded.
 */
export function createInline(
  opts: InlineOptions,
  hasParser: (ip: string, port: number) => boolean,
  log: (row: readonly LogValue[]) => void,
): InlineRun {
  const table = opts.table ?? INLINE_TABLE;
  const tapIf = opts.tapIf ?? MONITOR_TAP_IF;
  const cmd = inlineCommands(table, tapIf);
  const heartbeat = opts.heartbeat ?? 0.5;
  const nft = opts.nft ?? 'nft';
  const system = opts.system ?? realSystem;
  const errors: Diagnostic[] = [];
  let errorCount = 0;
  const onError = (message: string): void => {
    errorCount++;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(diag('E_INLINE_NFT', `inline verdicts: ${message}`));
  };
  let session: NftSession | null = null;
  const gate = new InlineGate({ ...opts.gate, hasParser, commands: cmd }, { command: (line) => session?.write(line), log });
  let timer: ReturnType<typeof setInterval> | undefined;
  const now = () => Date.now() / 1000;

  const beat = (): void => {
    gate.tick(now(), session?.backlog ?? 0);
    if (!gate.fallback) session?.write(cmd.alive(heartbeat * 4));
  };

  return {
    observer: {
      packet: (dp, conn, frame) => gate.packet(dp, conn, frame, now()),
      weird: (uid, name, source) => gate.weird(uid, name, source),
    },
    decision: (d) => gate.decision(d),
    async start() {
      if (opts.install !== false) {
        const input = renderInlineTable({ table, tapIf, returnIf: opts.returnIf ?? MONITOR_RETURN_IF });
        const r = await system.run([nft, '-f', '-'], { ns: opts.ns, input });
        if (r.code !== 0)
          return [diag('E_INLINE_TABLE', `cannot install the inline table ${table} on ${tapIf}: ${(r.stderr || r.stdout).trim()}`)];
      }
      session = new NftSession({ argv: [nft, '-i'], system, ns: opts.ns, onError });
      beat();
      timer = setInterval(beat, heartbeat * 1000);
      return [];
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      if (!session) return;
      session.write(cmd.fallback());
      await session.close();
    },
    summary: () => ({ ...gate.stats, nftLines: session?.lines ?? 0, nftErrors: errorCount }),
    diagnostics: () => [
      ...errors,
      ...(errorCount > errors.length ? [diag('E_INLINE_NFT', `${errorCount - errors.length} more nft errors`)] : []),
    ],
  };
}
