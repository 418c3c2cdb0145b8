import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { diag, FlowtapError } from '../diagnostics/index.js';
import { loadApp, planAddresses } from '../model/index.js';
import { need } from './exit.js';
/** APP may be a descriptor file or a folder holding `app.yaml`. */
export function resolveAppPath(arg) {
    if (!existsSync(arg))
        throw new FlowtapError(diag('E_NO_FILE', `no such file or folder: ${arg}`, { file: arg }));
    if (statSync(arg).isDirectory()) {
        const file = join(arg, 'app.yaml');
        if (!existsSync(file))
            throw new FlowtapError(diag('E_NO_FILE', `folder has no app.yaml`, { file: arg }));
        return file;
    }
    return arg;
}
export function loadAppArg(arg) {
    const file = resolveAppPath(arg);
    const app = need(loadApp(file));
    return { app, addressing: planAddresses(app), file };
}
//# sourceMappingURL=load.js.map