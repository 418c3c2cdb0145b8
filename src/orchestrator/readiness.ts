/**
 * Whether an instance's TCP ports accept connections, tried from inside its own namespace:
 * the firewall sits on the node, so an isolated instance still counts as listening.
 */
import type { System } from '../system/index.js';

/** One connection attempt per port (all at once); true where the handshake completed. */
export async function portsOpen(system: System, ns: string, ip: string, ports: number[]): Promise<boolean[]> {
  const rs = await Promise.all(ports.map((port) => system.run(['nc', '-z', '-w', '1', ip, String(port)], { ns, timeoutMs: 5000 })));
  return rs.map((r) => r.code === 0);
}

/** Waits until every port accepts connections, or the time is up. */
export async function waitForPorts(
  system: System,
  ns: string,
  ip: string,
  ports: number[],
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; detail: string }> {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      const [open] = await portsOpen(system, ns, ip, [port]);
      if (open) break;
      if (Date.now() > deadline) return { ok: false, detail: `port ${port} on ${ip} still closed after ${timeoutMs / 1000} s` };
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  return { ok: true };
}
