/**
 * How long-running commands (agent, relay, records --follow) learn that they must stop: an
 * AbortSignal, aborted by SIGTERM or SIGINT in a real process and by the caller in tests.
 */

export function stopSignal(): AbortSignal {
  const c = new AbortController();
  const stop = () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    c.abort();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return c.signal;
}

export function whenAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** Waits `ms`, or less when the signal is aborted first. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
