/** What every bench prints of its rounds: the median and the spread (min-max), in one format. */
export interface Stat {
  median: number;
  min: number;
  max: number;
}

export function stat(xs: number[]): Stat {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

/** A rate as a whole number with thousands separators. */
export const fmtRate = (x: number) => Math.round(x).toLocaleString('en-US');

/** `median (min–max)` with `digits` decimals: the one way a bench prints a measured figure with its spread. */
export const fmtStat = (s: Stat, digits = 0) => `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
