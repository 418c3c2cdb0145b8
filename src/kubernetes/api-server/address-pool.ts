/**
 * A block of IPv4 addresses handed out one at a time: Service cluster IPs (the API server
 * allocates them on create) and each node's pod addresses (the CNI plugin does, on a real node).
 * The network and broadcast addresses are never handed out; `next` skips the first host too
 * when it is reserved (a node's bridge, the gateway of its pods).
 */
import { formatIpv4, parseIpv4, parseIpv4Cidr } from '../../net/index.js';

export class AddressPool {
  private readonly used = new Set<number>();
  private readonly lo: number;
  private readonly hi: number;
  private cursor: number;

  constructor(
    readonly cidr: string,
    reserveFirst = false,
  ) {
    const parsed = parseIpv4Cidr(cidr);
    if (!parsed.ok) throw new RangeError(`address pool ${cidr}: ${parsed.reason}`);
    const size = 2 ** (32 - parsed.cidr.prefix);
    if (size < 8) throw new RangeError(`address pool ${cidr} is too small`);
    this.lo = parsed.cidr.base + (reserveFirst ? 2 : 1);
    this.hi = parsed.cidr.base + size - 2;
    this.cursor = this.lo;
  }

  /** The first address `next` hands out (the `kubernetes` Service's, in the service block). */
  first(): string {
    return formatIpv4(this.lo);
  }

  /** Whether `ip` lies in the block at all. */
  contains(ip: string): boolean {
    const n = parseIpv4(ip);
    return n !== undefined && n >= this.lo && n <= this.hi;
  }

  /** Marks a given address taken; false when it is outside the block or already taken. */
  claim(ip: string): boolean {
    const n = parseIpv4(ip);
    if (n === undefined || !this.contains(ip) || this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }

  /** The next free address after the last one handed out (so a freed one is not reused at once), or undefined when full. */
  next(): string | undefined {
    const span = this.hi - this.lo + 1;
    for (let i = 0; i < span; i++) {
      const n = this.lo + ((this.cursor - this.lo + i) % span);
      if (!this.used.has(n)) {
        this.used.add(n);
        this.cursor = n + 1 > this.hi ? this.lo : n + 1;
        return formatIpv4(n);
      }
    }
    return undefined;
  }

  release(ip: string): void {
    const n = parseIpv4(ip);
    if (n !== undefined) this.used.delete(n);
  }
}
