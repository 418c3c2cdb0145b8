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
 * The parser for a TCP connection, from its responder: with a model, the app protocol the
 * model gives the responder's port (a port the model does not know gets no parser, so a
 * mislabelled stream is never fed to the wrong one); without a model, the port number.
 */
export function chooseAnalyzer(view: AppView | null, respIp: string, respPort: number): AnalyzerKind | null {
  if (!view) return PORT_HEURISTICS.get(respPort) ?? null;
  const app = view.appProtocol(respIp, 'tcp', respPort);
  return app === 'http' || app === 'postgres' || app === 'nats' ? app : null;
}
