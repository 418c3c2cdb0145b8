import type { AppView } from '../policy/index.js';

export type AnalyzerKind = 'http' | 'postgres' | 'nats';

/** Well-known ports, for a monitor that has no application model. */
const PORT_HEURISTICS: ReadonlyMap<number, AnalyzerKind> = new Map([
  [80, 'http'],
  [8080, 'http'],
  [5432, 'postgres'],
  [4222, 'nats'],
]);

/**
 * The parser a TCP connection's responder port promises: with a model, the app protocol the
 * model gives that port; without a model, the well-known port number. Only a hint: the
 * connection's first bytes confirm it or choose another (ContentAnalyzer), and a port without
 * a promise gets the analyzer its content calls for.
 */
export function chooseAnalyzer(view: AppView | null, respIp: string, respPort: number): AnalyzerKind | null {
  if (!view) return PORT_HEURISTICS.get(respPort) ?? null;
  const app = view.appProtocol(respIp, 'tcp', respPort);
  return app === 'http' || app === 'postgres' || app === 'nats' ? app : null;
}
