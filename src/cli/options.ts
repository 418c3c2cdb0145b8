/**
 * Option definitions shared by several commands, and the parsers that turn option text into
 * typed values. Commander checks choices and runs the parsers while it parses, so a bad value
 * exits 2 naming the option and what it accepts before any command module is loaded.
 *
 * Kept free of imports beyond commander: main.ts loads this at start-up.
 */
import { InvalidArgumentError, Option } from 'commander';

const MODES = ['enforce', 'audit'] as const;
export type Mode = (typeof MODES)[number];

const STRATEGIES = ['per-app', 'per-node'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const FIREWALL_FORMATS = ['json', 'nft', 'k8s', 'cilium', 'anp'] as const;
export type FirewallFormat = (typeof FIREWALL_FORMATS)[number];

export const TAPS_FORMATS = ['text', 'json', 'nft', 'ovs'] as const;
export type TapsFormat = (typeof TAPS_FORMATS)[number];

export const CONNLIST_FORMATS = ['txt', 'json'] as const;
export type ConnlistFormat = (typeof CONNLIST_FORMATS)[number];

export const LOG_FORMATS = ['tsv', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const INLINE_VERDICTS = ['pass', 'block', 'monitor-down'] as const;
export type InlineVerdict = (typeof INLINE_VERDICTS)[number];
/** How an inline monitor stands in a redirected flow's path: hold until retransmitted, or netfilter queues (issue 13). */
export const INLINE_MODES = ['hold', 'queue'] as const;
export type InlineMode = (typeof INLINE_MODES)[number];

/** Every command takes `--json`; `what` says what it changes for that command. */
export function jsonOption(what = 'machine-readable output'): Option {
  return new Option('--json', what);
}

/**
 * `--policy FILE`, repeatable. Where a command cannot do without one, commander reports the
 * missing option; elsewhere it defaults to none.
 */
export function policyOption(required = false): Option {
  const o = new Option('--policy <file>', `monitoring policy (Datalog); repeatable${required ? ', at least one' : ''}`).argParser(collect);
  return required ? o.makeOptionMandatory() : o.default([]);
}

export function strategyOption(): Option {
  return new Option('--strategy <s>', 'monitor placement').choices(STRATEGIES).default('per-node' satisfies Strategy);
}

export function modeOption(what = 'enforce drops what no rule allows; audit only counts and logs it'): Option {
  return new Option('--mode <mode>', what).choices(MODES).default('enforce' satisfies Mode);
}

export function formatOption<const F extends readonly string[]>(choices: F, fallback: F[number], what = 'output format'): Option {
  return new Option('--format <fmt>', what).choices(choices).default(fallback);
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Seconds, a positive (possibly fractional) number: `--duration 2.5`. */
export function positiveSeconds(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('expected a positive number of seconds, e.g. 10 or 2.5');
  return n;
}

/** A comma-separated list; empty items are dropped, so `--observes=` means "none". */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface ServicePort {
  service: string;
  /** A port name of the service or a port number, resolved against the descriptor later. */
  port: string;
}

/** `SERVICE:PORT`, where PORT is a port name or number. */
export function servicePort(text: string): ServicePort {
  const i = text.lastIndexOf(':');
  if (i <= 0 || i === text.length - 1) throw new InvalidArgumentError('expected SERVICE:PORT, e.g. db:pg or db:5432');
  return { service: text.slice(0, i), port: text.slice(i + 1) };
}

/** A verbosity level: 0 off, 1 counters, 2 + flows and logs, 3 + monitor rows, 4 + system calls. */
export function levelArg(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n > 4) throw new InvalidArgumentError('expected a level from 0 to 4');
  return n;
}

/** A collection period in seconds, from 0.1 s to an hour; milliseconds out. */
export function periodArg(text: string): number {
  const s = Number(text);
  if (text.trim() === '' || !Number.isFinite(s) || s < 0.1 || s > 3600)
    throw new InvalidArgumentError('expected a period in seconds from 0.1 to 3600, e.g. 5 or 0.5');
  return Math.round(s * 1000);
}

/** A whole number from 1 to `max`. */
export function countArg(max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || n < 1 || n > max) throw new InvalidArgumentError(`expected a whole number from 1 to ${max}`);
    return n;
  };
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time: an ISO time (`2026-11-21T09:30:00Z`, `2026-11-21`) or a duration before
 * now (`90s`, `5m`, `2h`, `1d`, `1h30m`). Milliseconds since the epoch out.
 */
export function timeArg(text: string, now: number = Date.now()): number {
  const t = text.trim();
  if (/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(t)) {
    let ms = 0;
    for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]];
    return Math.round(now - ms);
  }
  // Only what looks like a date: Date.parse also takes "1" or "March" and guesses.
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t) ? Date.parse(t) : Number.NaN;
  if (!Number.isFinite(iso))
    throw new InvalidArgumentError('expected an ISO time (2026-11-21T09:30:00Z) or a duration before now (30s, 5m, 2h, 1d)');
  return iso;
}

/** A repeatable option whose values may also be comma-separated: `--kind flow,log --kind syscall`. */
export function listOption(value: string, previous: string[] = []): string[] {
  return [...previous, ...commaList(value)];
}

/** `--server URL`: send the command to a running API (`flowtap serve --listen`), token in FLOWTAP_TOKEN. */
export function serverOption(): Option {
  return new Option('--server <url>', 'send it to the API at URL (flowtap serve --listen), with the token in FLOWTAP_TOKEN').env(
    'FLOWTAP_SERVER',
  );
}
