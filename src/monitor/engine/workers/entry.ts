/**
 * A queue worker's process (forked by launcher.ts): the channel is its IPC, and losing
 * it means the monitor is gone, so the worker stops and its queues go to the kernel.
 */
import { serveQueueWorker } from './worker.js';
import type { FromWorker, ToWorker } from './messages.js';

if (!process.send) {
  console.error('a flowtap queue worker runs only as a fork of `flowtap monitor --inline=queue --workers N`');
  process.exit(2);
}
let pending = 0;
let exiting: number | null = null;
// The channel closes only once every message sent has left: the monitor reads the last rows and counters.
const finish = () => {
  if (exiting === null || pending > 0) return;
  process.exitCode = exiting;
  if (process.connected) process.disconnect();
  setTimeout(() => process.exit(exiting ?? 0), 2000).unref();
};
serveQueueWorker({
  send: (m: FromWorker) => {
    if (!process.connected) return;
    pending++;
    process.send?.(m, undefined, undefined, () => {
      pending--;
      finish();
    });
  },
  onMessage: (handler) => process.on('message', (m) => handler(m as ToWorker)),
  onGone: (handler) => process.once('disconnect', handler),
  exit: (code) => {
    exiting = code;
    finish();
  },
});
