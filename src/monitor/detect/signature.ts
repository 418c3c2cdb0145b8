/**
 * What a signature says about the first bytes of one direction: they carry its protocol, they
 * could once more bytes arrive, or no continuation can make them match.
 */
export const Sig = {
  NO: -1,
  MORE: 0,
  YES: 1,
} as const;

export type SigResult = (typeof Sig)[keyof typeof Sig];

/**
 * Bytes of a direction a signature may ask for before it must answer YES or NO. Every signature
 * decides within it, so a connection never holds more than this per direction while undecided.
 */
export const SNIFF_WINDOW = 64;

/**
 * `buf[off, off+len)` starts with `word` (ASCII, compared case-insensitively when `fold`).
 * MORE when the bytes are a proper prefix of it.
 */
export function startsWithWord(buf: Uint8Array, off: number, len: number, word: string, fold: boolean): SigResult {
  const n = Math.min(len, word.length);
  for (let i = 0; i < n; i++) {
    let b = buf[off + i];
    if (fold && b >= 0x61 && b <= 0x7a) b -= 0x20;
    if (b !== word.charCodeAt(i)) return Sig.NO;
  }
  return len >= word.length ? Sig.YES : Sig.MORE;
}
