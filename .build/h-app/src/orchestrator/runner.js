/**
 * The edge where the local cloud touches the system: running `ip`, `nft`, `sysctl`.
 * Behind an interface so plans can be recorded in tests without root.
 */
import { execFile } from 'node:child_process';
import { diag, FlowtapError } from '../diagnostics/index.js';
export const systemRunner = {
    run(argv, opts) {
        return new Promise((resolve) => {
            const child = execFile(argv[0], argv.slice(1), { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
                const code = err ? (typeof err.code === 'number' ? Number(err.code) : 127) : 0;
                resolve({ code, stdout: String(stdout), stderr: String(stderr) || (err && code === 127 ? err.message : '') });
            });
            if (opts?.input !== undefined)
                child.stdin?.end(opts.input);
        });
    },
};
/** Runs a step and turns failure into a diagnostic that shows the command and what it said. */
export async function mustRun(runner, argv, input) {
    const r = await runner.run(argv, input === undefined ? undefined : { input });
    if (r.code !== 0)
        throw new FlowtapError(diag('E_SYSTEM', `\`${argv.join(' ')}\` failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`));
    return r.stdout;
}
export async function runSteps(runner, steps, onStep) {
    for (const s of steps) {
        onStep?.(s);
        await mustRun(runner, s);
    }
}
//# sourceMappingURL=runner.js.map