/**
 * Long-running processes inside namespaces. `ip netns exec` execs the command, so the pid
 * we record is the service's own; each gets its own process group so a stop reaches its
 * children too.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
export function startInNamespace(ns, argv, env, log, cwd) {
    const fd = openSync(log, 'a');
    try {
        const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
            cwd,
            env: { ...process.env, ...env },
            detached: true,
            stdio: ['ignore', fd, fd],
        });
        child.unref();
        if (child.pid === undefined)
            throw new Error(`could not start ${argv.join(' ')} in ${ns}`);
        return { pid: child.pid, ns, argv, log };
    }
    finally {
        closeSync(fd);
    }
}
export function isAlive(pid) {
    try {
        process.kill(pid, 0);
        return true;
    }
    catch (e) {
        return e.code === 'EPERM';
    }
}
/** TERM the process group, then KILL whatever is left after the grace period. */
export async function stopProcess(pid, graceMs = 3000) {
    const signal = (sig) => {
        try {
            process.kill(-pid, sig);
        }
        catch {
            try {
                process.kill(pid, sig);
            }
            catch {
                /* already gone */
            }
        }
    };
    signal('SIGTERM');
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && isAlive(pid))
        await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid))
        signal('SIGKILL');
}
//# sourceMappingURL=processes.js.map