/**
 * Runs inside a namespace (`ip netns exec NS node probe-agent.js '[{"ip":..,"port":..}]'`)
 * and tries a real TCP connection to every target at once. Prints one JSON array.
 * A connection counts as open only when the handshake completes; a dropped SYN times out.
 *
 * Every attempt leaves from a port of the probe's reserved range (net/probe-ports.ts), so that
 * monitors and the controller can tell the probe from an attack. An open connection is reset,
 * not closed: a closed one would sit in TIME_WAIT on its port, and the next probe from the same
 * port to the same target would fail to connect.
 */
import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { PROBE_SOURCE_PORTS } from '../net/index.js';

interface Target {
  ip: string;
  port: number;
}

interface Outcome {
  ip: string;
  port: number;
  open: boolean;
  error?: string;
}

const timeoutMs = Number(process.env.PROBE_TIMEOUT_MS ?? 1500);
const SPAN = PROBE_SOURCE_PORTS.last - PROBE_SOURCE_PORTS.first + 1;
/** Tries of another source port when the one picked is taken (EADDRINUSE: another probe runs, or a socket lingers). */
const TRIES = 8;

function attempt(t: Target, localPort: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({ host: t.ip, port: t.port, localPort });
    const done = (open: boolean, error?: string) => {
      // A reset only where there is a connection to reset: on one still connecting, Node's
      // resetAndDestroy leaves the handle open and the process never exits.
      if (open) s.resetAndDestroy();
      else s.destroy();
      resolve({ ...t, open, ...(error ? { error } : {}) });
    };
    s.setTimeout(timeoutMs, () => done(false, 'timeout'));
    s.once('connect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(false, e.code ?? e.message));
  });
}

async function probe(t: Target, slot: number): Promise<Outcome> {
  let last: Outcome = { ...t, open: false, error: 'EADDRINUSE' };
  for (let k = 0; k < TRIES; k++) {
    last = await attempt(t, PROBE_SOURCE_PORTS.first + ((slot + k * 97) % SPAN));
    if (last.error !== 'EADDRINUSE' && last.error !== 'EADDRNOTAVAIL') return last;
  }
  return last;
}

const targets = JSON.parse(process.argv[2] ?? '[]') as Target[];
const results: Outcome[] = [];
// At most SPAN at once (each holds a port of the range); a random start spreads runs over it.
const start = randomInt(SPAN);
for (let i = 0; i < targets.length; i += SPAN) {
  const wave = targets.slice(i, i + SPAN);
  results.push(...(await Promise.all(wave.map((t, k) => probe(t, start + k)))));
}
// Whatever a socket still holds, the answer is complete: exit once it is written.
process.stdout.write(JSON.stringify(results) + '\n', () => process.exit(0));
