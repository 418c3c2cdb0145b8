/**
 * Detection-to-containment latency on a live cloud: from an attack's first packet to the
 * quarantine rule in force. DVD rental is deployed (tapped for SQL by
 * policies/database.dl, agents shipping to NATS JetStream), `flowtap serve` runs as its own
 * process with one reaction rule — quarantine an instance that runs SQL it may not — and an
 * attacker in user-create-0's namespace runs a forbidden SELECT (a new statement each time, so
 * the monitor's suppression of repeats does not hide it). The attacker notes the time just
 * before its TCP connect (the first packet); the controller's 'applied' record is written
 * right after nft accepted the transaction that adds the rule (the node's nft session answers
 * once the kernel has committed the batch; the handles are read when the reaction is
 * confirmed, off this path). Both clocks are this machine's.
 * After each attack the reaction is undone and the next one starts once the instance is
 * released. 5 rounds of 10 attacks: each round's p50 and p99, then the median and spread of
 * those over the rounds and the percentiles over all 50.
 *
 * Needs root and a NATS server with JetStream (FLOWTAP_TEST_NATS, default the port
 * scripts/broker-servers.sh uses): without them the bench says so and does nothing. The
 * embedded bus polls its file every 200 ms, which would be the whole figure.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { openBroker, type Broker } from '../src/broker/index.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const APP = 'dvd-contain';
const ROUNDS = 5;
const PER_ROUND = 10;
const NATS = process.env.FLOWTAP_TEST_NATS ?? 'nats://127.0.0.1:54222';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { cwd: ROOT, env, maxBuffer: 16 << 20 }, (e, out, err) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: String(out), err: String(err) }),
    ),
  );
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const f = (x: number) => x.toFixed(1);

/** A reaction's 'applied' record: when, and its timings as the controller wrote them. */
interface Applied {
  ts: number;
  id: string;
  sinceNotice: number;
  sinceReceived: number;
  /** Since the bus took the notice in (the agent had shipped it). */
  sincePublished: number;
  apply: number;
}

/** The attacker: connects to the database and runs one forbidden statement; prints when it connected. */
const ATTACKER = `
import pg from ${JSON.stringify(join(ROOT, 'node_modules', 'pg', 'lib', 'index.js'))};
const [host, n] = process.argv.slice(2);
// A quarantine may land before the answer does: the query then times out, as an attacker's would.
const c = new pg.Client({ host, user: 'dvdrental', password: 'dvdrental', database: 'dvdrental', connectionTimeoutMillis: 3000, query_timeout: 3000 });
const t0 = Date.now();
let t1 = t0;
try { await c.connect(); t1 = Date.now(); await c.query('select count(*) from users where id > ' + Number(n)); } catch {}
process.stdout.write(JSON.stringify({ t0, t1 }) + '\\n');
// Ending the session needs the server, which a quarantine may have cut off.
process.exit(0);
`;

export async function run(): Promise<string[]> {
  if (process.getuid?.() !== 0) return ['skipped: needs root (namespaces, nftables)'];
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-contain-'));
  // PostgreSQL runs as its own user and must reach its folder under this one.
  chmodSync(dir, 0o755);
  // A stream of this run's own: a stream keeps the subjects it was made for.
  const bus = `${NATS}${NATS.includes('?') ? '&' : '?'}stream=FT_CONTAIN_${process.pid}&prefix=ftcontain${process.pid}`;
  const store = `sqlite:${join(dir, 'broker.db')}`;
  const probe = await openBroker({ store: 'sqlite::memory:', bus });
  if (!probe.ok)
    return [`skipped: no NATS JetStream at ${NATS} (start scripts/broker-servers.sh): ${probe.errors.map((e) => e.message).join('; ')}`];
  await probe.value.close();

  const env = { ...process.env, FLOWTAP_STATE_DIR: join(dir, 'state') };
  const ft = (...args: string[]) => sh(process.execPath, [join(ROOT, 'bin', 'flowtap.js'), ...args], env);
  const doc = parseDocument(readFileSync(join(ROOT, 'examples', 'dvd-rental', 'app.yaml'), 'utf8'));
  doc.set('app', APP);
  writeFileSync(join(dir, 'app.yaml'), doc.toString());
  writeFileSync(join(dir, 'rules.dl'), 'quarantine(N, I) :- notice(N, "FlowTap::Disallowed_SQL"), notice_src(N, I).\n');
  writeFileSync(join(dir, 'attacker.mjs'), ATTACKER);
  await ft('down', APP);
  try {
    return await measure(dir, store, bus, ft);
  } finally {
    await ft('down', APP);
  }
}

async function measure(
  dir: string,
  store: string,
  bus: string,
  ft: (...args: string[]) => Promise<{ code: number; out: string; err: string }>,
): Promise<string[]> {
  const env = { ...process.env, FLOWTAP_STATE_DIR: join(dir, 'state') };
  const up = await ft(
    'up',
    join(dir, 'app.yaml'),
    '--policy',
    join(ROOT, 'examples', 'dvd-rental', 'policies', 'database.dl'),
    '--store',
    store,
    '--bus',
    bus,
    '--json',
  );
  if (up.code !== 0) return [`failed: flowtap up: ${up.err}`];
  const ips = (JSON.parse(up.out) as { addressing: { instances: Record<string, { ip: string }> } }).addressing.instances;
  const serve = execFile(
    process.execPath,
    [join(ROOT, 'bin', 'flowtap.js'), 'serve', APP, '--rules', join(dir, 'rules.dl'), '--max-per-minute', '10000', '--confirm-window', '1'],
    {
      cwd: ROOT,
      env,
    },
  );
  let broker: Broker | undefined;
  const lines: string[] = [];
  try {
    let ready = false;
    // Ready once it follows notices and has configured and verified the new deployment (its
    // deployed workflow runs the probe matrix: attacks measured during it would measure the probe).
    let following = false;
    serve.stderr?.on('data', (d: Buffer) => {
      const text = String(d);
      if (text.includes('following notices')) following = true;
      if (following && /deployed workflow/.test(text)) ready = true;
    });
    for (let i = 0; !ready; i++) {
      if (i > 300) return ['failed: flowtap serve did not start'];
      await sleep(100);
    }
    const b = await openBroker({ store, bus });
    if (!b.ok) return ['failed: broker'];
    broker = b.value;
    const applied = new Map<string, Applied>();
    await broker.bus.subscribe(`flowtap.acme.${APP}.reactions`, (m) => {
      const rec = m.data as {
        ts: number;
        data: {
          event: string;
          sinceNoticeMs?: number;
          sinceReceivedMs?: number;
          sincePublishedMs?: number;
          applyMs?: number;
          reaction: { id: string; uid?: string };
        };
      };
      if (rec.data.event === 'applied')
        applied.set(rec.data.reaction.id, {
          ts: rec.ts,
          id: rec.data.reaction.id,
          sinceNotice: rec.data.sinceNoticeMs ?? Number.NaN,
          sinceReceived: rec.data.sinceReceivedMs ?? Number.NaN,
          sincePublished: rec.data.sincePublishedMs ?? Number.NaN,
          apply: rec.data.applyMs ?? Number.NaN,
        });
    });
    const rounds: { total: number[]; notice: number[]; received: number[]; published: number[]; apply: number[]; connect: number[] }[] = [];
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const total: number[] = [];
      const notice: number[] = [];
      const apply: number[] = [];
      const received: number[] = [];
      const published: number[] = [];
      const connect: number[] = [];
      for (let k = 0; k < PER_ROUND; k++) {
        n++;
        const before = new Set(applied.keys());
        const a = await sh('ip', [
          'netns',
          'exec',
          `ft-${APP}-i-user-create-0`,
          process.execPath,
          join(dir, 'attacker.mjs'),
          ips['db-0'].ip,
          String(n * 1000 + round),
        ]);
        const { t0, t1 } = JSON.parse(a.out) as { t0: number; t1: number };
        connect.push(t1 - t0);
        let got: Applied | undefined;
        for (let w = 0; w < 200 && !got; w++) {
          got = [...applied.values()].find((x) => !before.has(x.id));
          if (!got) await sleep(25);
        }
        if (!got) return [`failed: attack ${n} was not contained within 5 s`];
        total.push(got.ts - t0);
        notice.push(got.sinceNotice);
        received.push(got.sinceReceived);
        published.push(got.sincePublished);
        apply.push(got.apply);
        // Undo, and wait until the instance is released before the next attack.
        const request = `bench${n}`;
        await broker.bus.publish(`flowtap.acme.${APP}.admin`, { request, op: 'undo', reaction: got.id });
        for (let w = 0; w < 200; w++) {
          const done = await broker.store.query({ app: APP, kinds: ['reaction'], text: request });
          if (done.some((r) => r.data.event === 'undone')) break;
          await sleep(25);
        }
      }
      rounds.push({ total, notice, received, published, apply, connect });
    }
    const all = rounds.flatMap((r) => r.total);
    const spread = (xs: number[]) => `${f(pct(xs, 50))} ms (${f(Math.min(...xs))}-${f(Math.max(...xs))})`;
    lines.push(
      `detection to containment, ${all.length} attacks (a forbidden SELECT by user-create-0 -> its quarantine rule in force), bus ${NATS}:`,
    );
    lines.push(`  per round p50: median ${spread(rounds.map((r) => pct(r.total, 50)))}`);
    lines.push(`  per round p99: median ${spread(rounds.map((r) => pct(r.total, 99)))}`);
    lines.push(`  over all ${all.length}: p50 ${f(pct(all, 50))} ms, p99 ${f(pct(all, 99))} ms, max ${f(Math.max(...all))} ms`);
    const connecting = rounds.flatMap((r) => r.connect);
    lines.push(
      `  of which the attacker's TCP connect and PostgreSQL authentication, before its statement: p50 ${f(pct(connecting, 50))} ms, p99 ${f(pct(connecting, 99))} ms`,
    );
    const fromNotice = rounds.flatMap((r) => r.notice).filter((x) => Number.isFinite(x));
    lines.push(
      `  of which from the statement (the monitor's timestamp of its packet) to the rule in force: p50 ${f(pct(fromNotice, 50))} ms, p99 ${f(pct(fromNotice, 99))} ms`,
    );
    const inController = rounds.flatMap((r) => r.received).filter((x) => Number.isFinite(x));
    lines.push(
      `  of which from the notice's arrival at the controller (the rest is the monitor, the agent and the bus): p50 ${f(pct(inController, 50))} ms, p99 ${f(pct(inController, 99))} ms`,
    );
    const applying = rounds.flatMap((r) => r.apply).filter((x) => Number.isFinite(x));
    lines.push(
      `  of which the apply (the orchestrator and the data plane change, until nft committed it): p50 ${f(pct(applying, 50))} ms, p99 ${f(pct(applying, 99))} ms`,
    );
    // Where the slowest attack lost its time: a p99 over 50 attacks is nearly the worst one.
    const worst = all.indexOf(Math.max(...all));
    const at = (pick: (r: (typeof rounds)[number]) => number[]) => rounds.flatMap(pick)[worst];
    lines.push(
      `  the slowest attack: ${f(all[worst])} ms = connect and authentication ${f(at((r) => r.connect))}, statement to the bus (monitor, agent) ${f(at((r) => r.notice) - at((r) => r.published))}, bus to the controller ${f(at((r) => r.published) - at((r) => r.received))}, arrival to the rule ${f(at((r) => r.received))} (apply ${f(at((r) => r.apply))}), the rest the attacker's own`,
    );
    lines.push('  goal: p99 under 100 ms');
    return lines;
  } finally {
    serve.kill('SIGTERM');
    await broker?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) for (const l of await run()) console.log(l);
