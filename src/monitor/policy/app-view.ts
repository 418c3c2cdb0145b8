import { EXTERNAL, type Addressing, type App, type AppProtocol, type PortSpec, type Requirement } from '../../model/index.js';

/** Who is behind an address, as far as the application model knows. */
export interface Peer {
  ip: string;
  /** Service name, or `external` for any address that is not one of the app's instances. */
  service: string;
  instance?: string;
}

/**
 * The application model compiled for lookups on the monitor's path: address → instance and
 * service, (service, port number) → port, (from, to, port) → requirements. Built once per
 * monitor; every lookup is a map access.
 */
export class AppView {
  private readonly byIp = new Map<string, Peer>();
  private readonly ports = new Map<string, PortSpec>();
  private readonly reqs = new Map<string, Requirement[]>();
  private readonly toPort = new Map<string, Requirement[]>();

  constructor(
    readonly app: App,
    readonly addressing: Addressing,
  ) {
    const serviceOfInstance = new Map(app.instances.map((i) => [i.name, i.service]));
    for (const [name, att] of Object.entries(addressing.instances)) {
      const service = serviceOfInstance.get(name);
      if (service !== undefined) this.byIp.set(att.ip, { ip: att.ip, service, instance: name });
    }
    for (const s of app.services) for (const p of s.ports) this.ports.set(`${s.name}|${p.protocol}|${p.port}`, p);
    for (const r of app.requirements) {
      push(this.reqs, `${r.from}|${r.to}|${r.port}`, r);
      push(this.toPort, `${r.to}|${r.port}`, r);
    }
  }

  peerOf(ip: string): Peer {
    return this.byIp.get(ip) ?? { ip, service: EXTERNAL };
  }

  /** True when the address is one of the app's instances (Zeek's local_orig / local_resp). */
  isLocal(ip: string): boolean {
    return this.byIp.has(ip);
  }

  port(service: string, l4: 'tcp' | 'udp', port: number): PortSpec | undefined {
    return this.ports.get(`${service}|${l4}|${port}`);
  }

  /** The app protocol spoken at `ip:port`, when the model knows the address and the port. */
  appProtocol(ip: string, l4: 'tcp' | 'udp', port: number): AppProtocol | undefined {
    const peer = this.byIp.get(ip);
    return peer ? this.port(peer.service, l4, port)?.app : undefined;
  }

  requirements(from: string, to: string, portName: string): readonly Requirement[] {
    return this.reqs.get(`${from}|${to}|${portName}`) ?? NONE;
  }

  /** Every requirement towards a port: who may connect to it. */
  requirementsTo(to: string, portName: string): readonly Requirement[] {
    return this.toPort.get(`${to}|${portName}`) ?? NONE;
  }
}

const NONE: readonly Requirement[] = [];

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
