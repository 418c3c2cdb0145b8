import type { Addressing, App } from '../../model/index.js';
import type { CapturedPacket } from '../capture/index.js';
import { PacketDecoder, TcpFlag, type DecodedPacket, type DecodeReason, type DecoderOptions } from '../decode/index.js';
import type { HttpOptions } from '../http/index.js';
import { CONN_LOG, NOTICE_LOG, WEIRD_LOG, type LogSchema, type LogValue, type ZeekLogWriter } from '../logs/index.js';
import type { NatsOptions } from '../nats/index.js';
import {
  DEFAULT_POLICY_OPTIONS,
  failedAttempt,
  MonitorPolicy,
  type ConnId,
  type IntegrityOptions,
  type Notice,
  type PolicyOptions,
  type PolicyStats,
  type SynFloodOptions,
} from '../policy/index.js';
import type { PgOptions } from '../postgres/index.js';
import { ConnTracker, type Connection, type ConnTrackerOptions, type ConnTrackerStats, type Direction } from '../tcp/index.js';
import { chooseAnalyzer } from './analyzer-choice.js';
import type { AnalyzerEnv } from './analyzer-env.js';
import { ConnSession } from './conn-session.js';
import { ContentAnalyzer, type AnalyzerFactory } from './content-analyzer.js';
import { HttpAnalyzer } from './http-analyzer.js';
import { connRow, noticeRow, plainNoticeRow, safeText, weirdRow } from './log-rows.js';
import { createNatsAnalyzer } from './nats-analyzer.js';
import { PgAnalyzer } from './pg-analyzer.js';

/** Policy settings, each part overridable field by field. */
export interface PolicyOverrides {
  synFlood?: Partial<SynFloodOptions>;
  integrity?: Partial<IntegrityOptions>;
  connectionSuppress?: number;
  requestSuppress?: number;
}

/** Sees what the engine sees, right after the engine has handled it (the inline gate). */
interface EngineObserver {
  /**
   * A frame was decoded and tracked (`conn` null: a protocol not tracked). Whatever verdicts the
   * data it completed led to have already been taken. `dp` is valid only during the call.
   */
  packet?(dp: DecodedPacket, conn: Connection | null, frame: Uint8Array): void;
  /** A protocol oddity on a connection, before weird.log's once-per-name filter. */
  weird?(uid: string, name: string, source: string): void;
}

export interface MonitorEngineOptions {
  /** The application model; without it, parsers are chosen by port and only the SYN-flood policy runs. */
  model?: { app: App; addressing: Addressing } | null;
  /** Where logs go; null writes none (notices still reach `onNotice`). */
  logs?: ZeekLogWriter | null;
  onNotice?: (n: Notice) => void;
  policy?: PolicyOverrides;
  decoder?: DecoderOptions;
  tracker?: ConnTrackerOptions;
  http?: Partial<HttpOptions>;
  postgres?: Partial<PgOptions>;
  nats?: Partial<NatsOptions>;
  /**
   * Choose each TCP connection's parser by its first bytes, the port being a hint (default true);
   * false: by the port alone, as before detection existed (the benchmarks' baseline).
   */
  contentDetection?: boolean;
  /** weird.log rows per malformed-packet reason; further ones are only counted (default 20). */
  decodeWeirdsPerReason?: number;
  observer?: EngineObserver;
}

export interface MonitorSummary {
  packets: number;
  bytes: number;
  /** First and last packet time. */
  firstTs: number | null;
  lastTs: number | null;
  decode: Record<string, number>;
  tracker: ConnTrackerStats;
  policy: PolicyStats;
  notices: number;
  /** Exceptions raised by flowtap's own code on some packet (each logged as a weird); 0 unless there is a bug. */
  internalErrors: number;
  logs: Record<string, number>;
}

export function mergePolicyOptions(o: PolicyOverrides = {}): PolicyOptions {
  const d = DEFAULT_POLICY_OPTIONS;
  return {
    synFlood: { ...d.synFlood, ...o.synFlood },
    integrity: { ...d.integrity, ...o.integrity },
    connectionSuppress: o.connectionSuppress ?? d.connectionSuppress,
    requestSuppress: o.requestSuppress ?? d.requestSuppress,
  };
}

/**
 * The monitor's pipeline: packets → decoder → connection tracker → per-connection protocol
 * analyzer → logs and policies. Push packets with `packet()`, call `tick()` on a timer for live
 * capture (idle connections expire by wall-clock time), and `finish()` at the end of input.
 * Nothing a packet contains can make it throw: malformed frames are counted by reason and
 * logged (rate-limited) as weirds.
 */
export class MonitorEngine implements AnalyzerEnv {
  readonly decoder: PacketDecoder;
  readonly tracker: ConnTracker;
  readonly policy: MonitorPolicy;
  private readonly logs: ZeekLogWriter | null;
  private readonly onNotice: ((n: Notice) => void) | undefined;
  private readonly opts: MonitorEngineOptions;
  private readonly decodeWeirds = new Map<string, number>();
  private readonly decodeWeirdLimit: number;
  private now = 0;
  private nextTick = -Infinity;
  private bytes = 0;
  private firstTs: number | null = null;
  private noticeCount = 0;
  private internalErrors = 0;
  private finished = false;
  private readonly local: ((ip: string) => boolean) | null;
  private readonly analyzer: AnalyzerFactory = (kind, s) => {
    switch (kind) {
      case 'http':
        return new HttpAnalyzer(s, this, this.opts.http);
      case 'postgres':
        return new PgAnalyzer(s, this, this.opts.postgres);
      case 'nats':
        return createNatsAnalyzer(s, this, this.opts.nats);
    }
  };

  constructor(opts: MonitorEngineOptions = {}) {
    this.opts = opts;
    this.logs = opts.logs ?? null;
    this.onNotice = opts.onNotice;
    this.decodeWeirdLimit = opts.decodeWeirdsPerReason ?? 20;
    this.decoder = new PacketDecoder(opts.decoder);
    this.policy = new MonitorPolicy(opts.model ?? null, (n) => this.notice(n), mergePolicyOptions(opts.policy));
    const view = this.policy.view;
    this.local = view ? (ip: string) => view.isLocal(ip) : null;
    this.tracker = new ConnTracker(
      {
        onNew: (c) => this.onNew(c),
        onData: (c, dir, buf, off, len) => (c.userData as ConnSession | undefined)?.parser?.data(dir, buf, off, len, this.now),
        onGap: (c, dir, len) => this.onGap(c, dir, len),
        onClose: (c) => this.onClose(c),
        onWeird: (c, name) => {
          const s = c.userData as ConnSession | undefined;
          if (s) this.weird(s, name, '', this.now, 'TCP');
        },
      },
      opts.tracker,
    );
  }

  /** One captured frame (the reader's reused object is not kept). */
  packet(p: CapturedPacket): void {
    this.frame(p.linktype, p.data, p.ts, p.index);
  }

  frame(linktype: number, data: Uint8Array, ts: number, index = 0): void {
    if (this.finished) return;
    // Whatever throws on one packet (a parser, a policy, a notice's consumer) costs that packet
    // only: counted, logged, and the capture goes on.
    try {
      this.step(linktype, data, ts, index);
    } catch (e) {
      this.internalError(e, ts, index);
    }
  }

  private step(linktype: number, data: Uint8Array, ts: number, index: number): void {
    this.now = ts;
    this.bytes += data.length;
    if (this.firstTs === null) this.firstTs = ts;
    if (ts >= this.nextTick) {
      this.nextTick = ts + 1;
      // The timed policies failing is no reason to lose the packet that happened to trigger them.
      try {
        this.policy.tick(ts);
      } catch (e) {
        this.internalError(e, ts, index);
      }
    }
    const dp = this.decoder.decode(linktype, data, ts);
    if (dp === null) {
      const why = this.decoder.lastSkip;
      if (why !== '' && why !== 'non_ip' && why !== 'fragment_held') this.decodeWeird(why, ts, index);
      return;
    }
    const conn = this.tracker.process(dp);
    if (conn !== null && (dp.tcpFlags & TcpFlag.RST) !== 0) this.reset(conn);
    this.opts.observer?.packet?.(dp, conn, data);
  }

  /**
   * A bug of ours met by some input: counted and logged as a weird with the packet number, so
   * one odd packet does not stop the monitor and the problem stays visible.
   */
  private internalError(e: unknown, ts: number, index: number): void {
    this.internalErrors++;
    const msg = e instanceof Error ? e.message : (safeText(e) ?? 'an exception');
    this.decodeWeird('flowtap_internal_error', ts, index, msg);
  }

  /** Wall-clock housekeeping for live capture: expire idle connections and fragments, run timed policies. */
  tick(now: number): void {
    if (this.finished) return;
    if (now > this.now) this.now = now;
    // Called from a timer: an exception here would end the process, not just this tick.
    try {
      this.tracker.expire(this.now);
      this.decoder.expireFragments(this.now);
      this.policy.tick(this.now);
    } catch (e) {
      this.internalError(e, this.now, 0);
    }
    this.logs?.flush();
  }

  /** End of input: close every connection (writing its logs), settle pending policy state, close the logs. */
  finish(): MonitorSummary {
    if (!this.finished) {
      try {
        this.tracker.flush();
      } catch (e) {
        this.internalError(e, this.now, 0);
      }
      try {
        this.policy.finish(this.now);
      } catch (e) {
        this.internalError(e, this.now, 0);
      }
      this.finished = true;
      this.logs?.close();
    }
    return this.summary();
  }

  summary(): MonitorSummary {
    return {
      packets: this.decoder.stats.packets,
      bytes: this.bytes,
      firstTs: this.firstTs,
      lastTs: this.firstTs === null ? null : this.now,
      decode: this.decoder.stats.toRecord(),
      tracker: { ...this.tracker.stats },
      policy: this.policy.stats(),
      notices: this.noticeCount,
      internalErrors: this.internalErrors,
      logs: this.logs?.rowCounts() ?? {},
    };
  }

  // AnalyzerEnv

  log(schema: LogSchema, values: readonly LogValue[]): void {
    this.logs?.write(schema, values);
  }

  weird(s: ConnSession | null, name: string, addl: string, ts: number, source: string): void {
    if (s) this.opts.observer?.weird?.(s.uid, name, source);
    if (s && !s.firstWeird(name)) return;
    this.logs?.write(WEIRD_LOG, weirdRow(ts, s, name, addl, source));
  }

  /** A notice about the monitor itself (overload), written and handed on like the policies' own. */
  health(n: Notice): void {
    if (!this.finished) this.notice(n);
  }

  // internals

  /**
   * A notice is never lost to a bug of ours: when its row cannot be formatted it is written in
   * a plainer form that cannot fail, and a consumer that throws does not keep it from the log.
   */
  private notice(n: Notice): void {
    this.noticeCount++;
    if (this.logs) {
      try {
        this.logs.write(NOTICE_LOG, noticeRow(n));
      } catch (e) {
        this.internalError(e, this.now, 0);
        this.logs.write(NOTICE_LOG, plainNoticeRow(n, e));
      }
      // Out to the file now, not at the next one-second flush: the agent ships notices as they are written.
      this.logs.flush();
    }
    try {
      this.onNotice?.(n);
    } catch (e) {
      this.internalError(e, this.now, 0);
    }
  }

  private decodeWeird(reason: DecodeReason | string, ts: number, index: number, detail = ''): void {
    const n = (this.decodeWeirds.get(reason) ?? 0) + 1;
    this.decodeWeirds.set(reason, n);
    if (n > this.decodeWeirdLimit) return;
    const parts: string[] = [];
    if (index > 0) parts.push(`packet ${index}`);
    if (detail) parts.push(detail);
    if (n === this.decodeWeirdLimit) parts.push('further ones are only counted');
    this.weird(null, reason, parts.join('; '), ts, 'DECODE');
  }

  private onNew(c: Connection): void {
    const id: ConnId = { origH: c.origAddress, origP: c.origPort, respH: c.respAddress, respP: c.respPort, proto: c.protoName };
    const ctx = this.policy.connection(c.uid, id, c.startTs);
    const s = new ConnSession(c.uid, id, ctx);
    c.userData = s;
    if (c.proto !== 6) return;
    const hint = chooseAnalyzer(this.policy.view, id.respH, id.respP);
    if (this.opts.contentDetection === false) s.parser = hint ? this.analyzer(hint, s) : null;
    // The port only hints: the first bytes confirm it or choose another analyzer.
    else s.parser = new ContentAnalyzer(s, this, hint, this.analyzer, c);
  }

  private onGap(c: Connection, dir: Direction, len: number): void {
    const s = c.userData as ConnSession | undefined;
    if (!s) return;
    s.parser?.gap(dir, len);
  }

  /**
   * An attempt that a reset ended has failed for good: the SYN-flood count hears of it now, not
   * when the tracker closes it after its close delay (5 s), which a reaction cannot wait for.
   */
  private reset(c: Connection): void {
    const s = c.userData as ConnSession | undefined;
    if (!s || s.attemptReported || c.proto !== 6) return;
    const state = c.connState();
    if (!failedAttempt(state, c.history)) return;
    s.attemptReported = true;
    this.policy.connectionClosed(c.uid, s.id, state, c.startTs, c.history);
  }

  private onClose(c: Connection): void {
    const s = c.userData as ConnSession | undefined;
    if (!s) return;
    s.parser?.end(c.lastSeen);
    s.parser = null;
    this.logs?.write(CONN_LOG, connRow(c, s, this.local));
    if (!s.attemptReported) this.policy.connectionClosed(c.uid, s.id, c.connState(), c.startTs, c.history);
    c.userData = undefined;
  }
}
