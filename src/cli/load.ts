import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { loadApp, planAddresses, type Addressing, type App } from '../model/index.js';
import { CliCode } from './codes.js';
import { need } from './exit.js';

/** APP may be a descriptor file or a folder holding `app.yaml`. */
export function resolveAppPath(arg: string): string {
  if (!existsSync(arg)) throw new FlowtapError(diag(CliCode.NO_FILE, `no such file or folder: ${arg}`, { file: arg }));
  if (statSync(arg).isDirectory()) {
    const file = join(arg, 'app.yaml');
    if (!existsSync(file)) throw new FlowtapError(diag(CliCode.NO_FILE, `folder has no app.yaml`, { file: arg }));
    return file;
  }
  return arg;
}

export function loadAppArg(arg: string): { app: App; addressing: Addressing; file: string } {
  const file = resolveAppPath(arg);
  const app = need(loadApp(file));
  return { app, addressing: need(planAddresses(app)), file };
}
