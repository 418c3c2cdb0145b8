/**
 * What `up` made, on disk, so `status` and `down` work from another shell. Written after
 * every step that creates something, so a crash mid-`up` still leaves an accurate record.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
export function stateDir() {
    return process.env.FLOWTAP_STATE_DIR ?? '/var/lib/flowtap';
}
export function stateFile(app) {
    return join(stateDir(), `${app}.json`);
}
export function appRunDir(app) {
    return join(stateDir(), app);
}
export function saveState(s) {
    mkdirSync(stateDir(), { recursive: true });
    const file = stateFile(s.app);
    writeFileSync(file + '.tmp', JSON.stringify(s, null, 2));
    renameSync(file + '.tmp', file);
}
export function loadState(app) {
    const file = stateFile(app);
    if (!existsSync(file))
        return null;
    return JSON.parse(readFileSync(file, 'utf8'));
}
export function removeState(app) {
    rmSync(stateFile(app), { force: true });
}
//# sourceMappingURL=state-file.js.map