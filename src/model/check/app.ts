import type { Diagnostic } from '../../diagnostics/index.js';
import { defaultContext, type CheckContext } from './context.js';
import { checkL7 } from './l7.js';
import { checkNames } from './names.js';
import { checkNetwork } from './network.js';
import { checkRequirements } from './requirements.js';
import { checkTopology } from './topology.js';
import type { App } from '../types.js';

/**
 * Every semantic check on a model, whatever it was read from (YAML, Kubernetes,
 * code). Returns all problems found, in input order when positions are known.
 */
export function checkApp(app: App, ctx: CheckContext = defaultContext(app.source)): Diagnostic[] {
  const all = [
    ...checkNames(app, ctx),
    ...checkTopology(app, ctx),
    ...checkNetwork(app, ctx),
    ...checkRequirements(app, ctx),
    ...checkL7(app, ctx),
  ];
  return sortByPosition(all);
}

export function sortByPosition(list: Diagnostic[]): Diagnostic[] {
  // Array.prototype.sort is stable, so problems at one spot keep their check order.
  return list.sort((a, b) => (a.loc?.line ?? 0) - (b.loc?.line ?? 0) || (a.loc?.col ?? 0) - (b.loc?.col ?? 0));
}
