function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * The URI with its `%XX` escapes decoded (one byte each, as latin1 text like the rest of the
 * head), which is what Zeek's http.log `uri` holds; a `%` not followed by two hex digits stays.
 * Returns the same string when there is nothing to decode.
 */
export function unescapeUri(uri: string): string {
  let i = uri.indexOf('%');
  if (i < 0) return uri;
  let out = '';
  let from = 0;
  while (i >= 0 && i < uri.length) {
    const h = i + 2 < uri.length ? hexDigit(uri.charCodeAt(i + 1)) : -1;
    const l = h >= 0 ? hexDigit(uri.charCodeAt(i + 2)) : -1;
    if (l >= 0) {
      out += uri.slice(from, i) + String.fromCharCode(h * 16 + l);
      from = i + 3;
      i = uri.indexOf('%', from);
    } else i = uri.indexOf('%', i + 1);
  }
  return out + uri.slice(from);
}
