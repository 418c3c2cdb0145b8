import { spawn } from 'node:child_process';
import { diag } from '../../diagnostics/index.js';
import { CaptureReader } from './capture-reader.js';
/**
 * Capture from a live interface by running tcpdump and parsing its pcap output as it streams.
 * This is an edge: it spawns a process. Failure to start, or a non-zero exit, is reported as a
 * diagnostic in the summary.
 */
export function liveCapture(iface, onPacket, opts = {}) {
    const command = opts.command ?? 'tcpdump';
    const args = opts.args ?? ['-i', iface, '-U', '-w', '-', '-s', '0', '-n', ...(opts.filter ? [opts.filter] : [])];
    const reader = new CaptureReader(onPacket, { file: `${command}:${iface}` });
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stopping = false;
    let stderr = '';
    child.stdout.on('data', (chunk) => {
        reader.push(chunk);
    });
    child.stderr.on('data', (chunk) => {
        if (stderr.length < 4096)
            stderr += chunk.toString('utf8');
    });
    const done = new Promise((resolve) => {
        let settled = false;
        const finish = (problem) => {
            if (settled)
                return;
            settled = true;
            const summary = reader.end();
            if (problem)
                summary.diagnostics.push(diag('E_CAPTURE_LIVE', problem, { file: `${command}:${iface}` }));
            resolve(summary);
        };
        child.on('error', (e) => finish(`cannot run ${command}: ${e.message}`));
        child.on('close', (code, signal) => {
            if (stopping || code === 0)
                finish();
            else
                finish(`${command} exited with ${code !== null ? `code ${code}` : `signal ${signal}`}: ${stderr.trim()}`);
        });
    });
    return {
        done,
        stop() {
            stopping = true;
            if (child.exitCode === null && child.signalCode === null)
                child.kill('SIGTERM');
            return done;
        },
    };
}
//# sourceMappingURL=live-capture.js.map