/**
 * Runs inside a namespace (`ip netns exec NS node probe-agent.js '[{"ip":..,"port":..}]'`)
 * and tries a real TCP connection to every target at once. Prints one JSON array.
 * A connection counts as open only when the handshake completes; a dropped SYN times out.
 */
import { connect } from 'node:net';
const timeoutMs = Number(process.env.PROBE_TIMEOUT_MS ?? 1500);
function probe(t) {
    return new Promise((resolve) => {
        const s = connect({ host: t.ip, port: t.port });
        const done = (open, error) => {
            s.destroy();
            resolve({ ...t, open, ...(error ? { error } : {}) });
        };
        s.setTimeout(timeoutMs, () => done(false, 'timeout'));
        s.once('connect', () => done(true));
        s.once('error', (e) => done(false, e.code ?? e.message));
    });
}
const targets = JSON.parse(process.argv[2] ?? '[]');
const results = await Promise.all(targets.map(probe));
process.stdout.write(JSON.stringify(results) + '\n');
//# sourceMappingURL=probe-agent.js.map