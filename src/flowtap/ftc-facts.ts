/**
 * The facts monitoring policies are evaluated against: the model's facts (docs/facts.md)
 * plus what ftc adds (docs/ftc.md): the flow syntax of every service port and the
 * expected load of every instance.
 */
import { modelFacts, type Addressing, type App } from '../model/index.js';
import type { Fact } from '../datalog/index.js';

export interface FtcFactOptions {
  /** Expected Mbit/s per instance (measured statistics feed this at run time). */
  loads?: Record<string, number>;
  defaultLoad?: number;
  extra?: Fact[];
}

const DEFAULT_LOAD_MBPS = 10;

export function ftcFacts(app: App, addressing: Addressing, opts: FtcFactOptions = {}): Fact[] {
  const facts: Fact[] = modelFacts(app, addressing).map((f) => ({ pred: f.pred, args: [...f.args] }));
  for (const s of app.services)
    for (const p of s.ports) {
      // Requests to the port; ftc adds the mirrored reply flow itself.
      facts.push({ pred: 'port_flow', args: [s.name, p.name, `${p.protocol},tp_dst=${p.port}`] });
    }
  for (const i of app.instances)
    facts.push({ pred: 'load', args: [i.name, opts.loads?.[i.name] ?? opts.defaultLoad ?? DEFAULT_LOAD_MBPS] });
  facts.push(...(opts.extra ?? []));
  return facts;
}
