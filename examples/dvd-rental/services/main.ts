/**
 * One entry point for all six roles: `SERVICE=user-create node main.js` (or the role as the
 * first argument). Everything else comes from the environment; see env.ts.
 */
import { pathToFileURL } from 'node:url';
import { isServiceName, SERVICE_NAMES, type ServiceName } from './env.js';
import { runService } from './lifecycle.js';
import { contractUpdate } from './contract-update.js';
import { dvdReturn } from './dvd-return.js';
import { dvdUpdate } from './dvd-update.js';
import type { Service } from './service.js';
import { shipping } from './shipping.js';
import { userCreate } from './user-create.js';
import { userUpdate } from './user-update.js';

export const SERVICES: Readonly<Record<ServiceName, Service>> = {
  'user-create': userCreate,
  'user-update': userUpdate,
  'contract-update': contractUpdate,
  'dvd-update': dvdUpdate,
  'dvd-return': dvdReturn,
  shipping,
};

async function main(): Promise<void> {
  const role = process.argv[2] ?? process.env.SERVICE ?? '';
  if (!isServiceName(role)) {
    process.stderr.write(`unknown service "${role}": set SERVICE (or pass as first argument) to one of ${SERVICE_NAMES.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  await runService(SERVICES[role]);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`service failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
