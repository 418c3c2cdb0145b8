import { formatLocation } from '../../diagnostics/index.js';
import { k8sConnectivity, renderConnlist } from '../../firewall/index.js';
import { importK8sManifests } from '../../model/index.js';
import { EXIT_OK, need, type Io } from '../exit.js';
import type { ConnlistFormat } from '../options.js';

export interface ConnlistOptions {
  format: ConnlistFormat;
  /** Same as `format: 'json'`. */
  json?: boolean;
}

export function cmdConnlist(io: Io, dir: string, o: ConnlistOptions): number {
  const imp = need(importK8sManifests(dir));
  const connectivity = k8sConnectivity(imp);
  for (const n of [...imp.notes, ...connectivity.notes]) {
    const where = formatLocation(n.loc);
    io.err(`${where ? `${where}: ` : ''}warning ${n.code}: ${n.message}`);
  }
  io.out(renderConnlist(connectivity.entries(), o.json ? 'json' : o.format));
  return EXIT_OK;
}
