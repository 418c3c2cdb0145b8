/**
 * The queue mode's floor (bench/inline.ts): a consumer that accepts every queued packet without
 * looking at it, through the same addon, batches and NFLOG groups as the monitor (queue-setup.ts
 * steers to it like to the monitor). What it costs a redirected service is what the netfilter
 * queue and one Node process in the path cost before any judging: no judge can do better.
 *
 *   node dist/bench/queue-floor.js OPEN CLOSED    (queue numbers; NFLOG groups numbered alike)
 *
 * Runs until SIGTERM, then prints how many packets it passed.
 */
import { nfqueues } from '../src/monitor/index.js';

const [open, closed] = process.argv.slice(2).map(Number);
const queues = nfqueues();
if (!queues.ok) throw new Error(queues.errors[0].message);
let passed = 0;
let copies = 0;
const bound = [
  { queue: open, failOpen: true },
  { queue: closed, failOpen: false },
].map(({ queue, failOpen }) => {
  let q: { verdict(id: number, accept: boolean): unknown } | null = null;
  const r = queues.value.open({ queue, maxlen: 4096, failOpen, batchMax: 64, logGroup: queue }, (batch) => {
    for (const p of batch)
      if (p.logged) copies++;
      else {
        q?.verdict(p.id, true);
        passed++;
      }
  });
  if (!r.ok) throw new Error(r.errors[0].message);
  q = r.value;
  return r.value;
});
process.once('SIGTERM', () => {
  for (const q of bound) q.close();
  console.error(JSON.stringify({ passed, copies }));
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
