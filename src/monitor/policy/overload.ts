/**
 * Overload: the monitor falls behind its capture. Each packet's lag is the wall clock when the
 * monitor gets to it minus the time the kernel captured it; when the worst lag of every second
 * stays over the threshold for `sustain` seconds running, the monitor is overloaded (what it
 * reports comes late, and the kernel's buffer is next to drop). Reported once per `suppressFor`.
 */
import { NoticeType, type Notice } from './notice.js';

export interface OverloadOptions {
  /** Seconds of lag that count as behind. */
  lag: number;
  /** Seconds running that the lag must last. */
  sustain: number;
  suppressFor: number;
}

export const DEFAULT_OVERLOAD_OPTIONS: OverloadOptions = { lag: 1, sustain: 3, suppressFor: 60 };

export class OverloadDetector {
  private worst = 0;
  private packets = 0;
  private behindFor = 0;
  private quietUntil = -Infinity;

  /** `what` names the capture in messages (the agent adds which monitor it is). */
  constructor(
    private readonly what: string,
    readonly opts: OverloadOptions = DEFAULT_OVERLOAD_OPTIONS,
  ) {}

  /**
   * A packet captured at `capturedAt` and handled at `now` (seconds), standing for `packets`
   * packets (a caller may read the clock for one packet in many). Allocation-free.
   */
  packet(capturedAt: number, now: number, packets = 1): void {
    const lag = now - capturedAt;
    if (lag > this.worst) this.worst = lag;
    this.packets += packets;
  }

  /** Called once a second (wall clock, seconds): the notice to raise, if the monitor is overloaded. */
  second(now: number): Notice | null {
    const worst = this.worst;
    const packets = this.packets;
    this.worst = 0;
    this.packets = 0;
    this.behindFor = worst > this.opts.lag ? this.behindFor + 1 : 0;
    if (this.behindFor < this.opts.sustain || now < this.quietUntil) return null;
    this.quietUntil = now + this.opts.suppressFor;
    const lagMs = Math.round(worst * 1000);
    return {
      ts: now,
      note: NoticeType.MONITOR_OVERLOAD,
      msg: `the monitor of ${this.what} is ${lagMs} ms behind its capture for ${this.behindFor} s running (${packets} packets in the last second)`,
      n: packets,
      suppressFor: this.opts.suppressFor,
      evidence: {
        uids: [],
        lagMs,
        seconds: this.behindFor,
        packetsPerSecond: packets,
        expected: `at most ${this.opts.lag * 1000} ms behind`,
        seen: `${lagMs} ms behind`,
      },
    };
  }
}
