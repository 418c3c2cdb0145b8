/** nft identifiers allow letters, digits and `_`; everything else is folded to `_`. */
export function nftIdent(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, '_');
}

/** A string literal for nft comments and prefixes (nft has no escapes: drop quotes). */
export function nftString(s: string): string {
  return `"${s.replace(/["\\\n]/g, '')}"`;
}

export function nftSet(items: string[]): string {
  return items.length === 1 ? items[0] : `{ ${items.join(', ')} }`;
}
