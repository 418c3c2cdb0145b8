import { computeReachability, formatConnlist, netpolsToRuleset } from '../../firewall/index.js';
import { importK8sManifests, k8sWorkloadKinds } from '../../model/index.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import type { ConnlistFormat } from '../options.js';

export interface ConnlistOptions {
  format: ConnlistFormat;
  /** Same as `format: 'json'`. */
  json?: boolean;
}

export function cmdConnlist(io: Io, dir: string, o: ConnlistOptions): number {
  const imp = need(importK8sManifests(dir));
  for (const n of imp.notes) io.err(`note: ${n.message}`);
  const ruleset = netpolsToRuleset(imp);
  const conns = computeReachability(ruleset, imp.app, imp.addressing, { externalAs: 'ip-ranges' });
  io.out(formatConnlist(conns, o.json ? 'json' : o.format, { kinds: k8sWorkloadKinds(imp) }));
  return EXIT_OK;
}
