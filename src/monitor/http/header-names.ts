/**
 * Frequent header names, recognised from their bytes in any letter case, so the hot path neither
 * decodes nor lower-cases them: the result is a shared constant string.
 */
const NAMES = [
  'host',
  'user-agent',
  'accept',
  'accept-encoding',
  'accept-language',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'cache-control',
  'cookie',
  'set-cookie',
  'authorization',
  'date',
  'server',
  'expect',
  'upgrade',
  'origin',
  'referer',
  'location',
  'etag',
  'last-modified',
  'vary',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'content-encoding',
  'if-none-match',
  'pragma',
  'te',
  'trailer',
];

const BY_LENGTH: { name: string; bytes: Uint8Array }[][] = [];
for (const name of NAMES) {
  BY_LENGTH[name.length] ??= [];
  BY_LENGTH[name.length].push({ name, bytes: Buffer.from(name, 'latin1') });
}

/** The lower-case constant for `buf[s, e)` if it is a frequent header name, else undefined. */
export function knownHeaderName(buf: Uint8Array, s: number, e: number): string | undefined {
  const len = e - s;
  const bucket = BY_LENGTH[len];
  if (!bucket) return undefined;
  for (let j = 0; j < bucket.length; j++) {
    const want = bucket[j].bytes;
    let k = 0;
    while (k < len) {
      let c = buf[s + k];
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== want[k]) break;
      k++;
    }
    if (k === len) return bucket[j].name;
  }
  return undefined;
}
