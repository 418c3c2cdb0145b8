/**
 * The REST API and the dashboard against a live cloud: DVD rental (tenant acme) with its
 * agents, monitors, broker and security controller, and web-sql (another tenant) beside it,
 * served by `flowtap serve --listen`. Over plain HTTP: each tenant's token sees only its own
 * application and gets 404 for the other's, the operator's sees both, a missing or wrong token
 * gets 401. In Debian's Chromium (headless, never a downloaded browser): the graph shows every
 * service and instance; a verbosity change made in the page reaches the agent (its
 * acknowledgement is in the broker) and moves the overhead chart; an attack makes its notice
 * appear and the attacker's instance turn quarantined without a reload; Undo in the page
 * releases it. Screenshots go to test-results/, the one with the quarantine to
 * docs/dashboard.png. Needs root and /usr/bin/chromium.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parseDocument } from 'yaml';
import { openBroker, type Broker, type StoredRecord } from '../src/broker/index.js';
import { needs, needsRoot } from '../src/system/testing.js';
import { canConnect, chromiumMissing, chromiumPage, flowtap, flowtapCommand, psqlIn, ROOT, stateDir } from './testing.js';

const skip = needsRoot(['nc', '-h'], ['psql', '--version']) || needs(chromiumMissing());
const DVD = 'dvd-live';
const SQL = 'sql-live';
const SQL_TENANT = 'other';
const NATS = process.env.FLOWTAP_TEST_NATS;
const PERIOD_MS = 5000;
/** Back tier, one replica: no guardrail keeps it from quarantine. */
const ATTACKER = 'dvd-update-0';
const P = join(ROOT, 'examples', 'dvd-rental', 'policies');
const RULES = join(ROOT, 'examples', 'dvd-rental', 'reactions.dl');
const SHOTS = join(ROOT, 'test-results');
const ins = (i: string) => `ft-${DVD}-i-${i}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The descriptor of an example with another name (and tenant), in a folder of its own. */
function descriptorCopy(example: string, app: string, tenant?: string): { file: string; services: string[] } {
  const doc = parseDocument(readFileSync(join(ROOT, 'examples', example, 'app.yaml'), 'utf8'));
  doc.set('app', app);
  if (tenant) doc.set('tenant', tenant);
  const dir = mkdtempSync(join(tmpdir(), `flowtap-${app}-`));
  writeFileSync(join(dir, 'app.yaml'), doc.toString());
  const services = Object.keys((doc.toJS() as { services: Record<string, unknown> }).services);
  return { file: join(dir, 'app.yaml'), services };
}

interface Up {
  instances: Record<string, { ip: string; node: string }>;
}

async function up(file: string, ...args: string[]): Promise<Up> {
  const r = await flowtap('up', file, ...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  const ctx = JSON.parse(r.stdout) as { addressing: Up };
  return { instances: ctx.addressing.instances };
}

async function issue(name: string, ...who: string[]): Promise<string> {
  const r = await flowtap('token', 'issue', name, ...who);
  assert.equal(r.code, 0, r.stderr);
  const t = r.stdout.trim();
  assert.match(t, /^ftk_\S+$/);
  return t;
}

interface GraphView {
  services: string[];
  instances: { id: string; parent: string; quarantined: boolean }[];
}

/** What cytoscape holds (window.__flowtap.cy), as plain values. */
function readGraph(page: Page): Promise<GraphView> {
  return page.evaluate(() => {
    interface El {
      id(): string;
      data(k: string): unknown;
    }
    const cy = (window as unknown as { __flowtap: { cy: { nodes(s: string): { map<T>(f: (e: El) => T): T[] } } } }).__flowtap.cy;
    return {
      services: cy.nodes('.service').map((n) => n.id()),
      instances: cy.nodes('.instance').map((n) => ({
        id: n.id(),
        parent: String(n.data('parent')),
        quarantined: n.data('quarantined') === true,
      })),
    };
  });
}

/** Waits until the instance's node in cy is (or is no longer) quarantined, in its data and its class. */
function quarantinedInPage(page: Page, id: string, want: boolean, timeout: number) {
  return page.waitForFunction(
    ([id, want]) => {
      const cy = (
        window as unknown as {
          __flowtap: { cy: { getElementById(id: string): { empty(): boolean; hasClass(c: string): boolean; data(k: string): unknown } } };
        }
      ).__flowtap.cy;
      const n = cy.getElementById(id as string);
      return !n.empty() && n.data('quarantined') === want && n.hasClass('quarantined') === want;
    },
    [id, want] as const,
    { timeout },
  );
}

/** The overhead chart's points and the levels it plots (uPlot's data[3]). */
function overhead(page: Page): Promise<{ points: number; times: number[]; levels: number[] }> {
  return page.evaluate(() => {
    const el = document.querySelector('[data-testid=overhead-chart]') as HTMLElement;
    const u = (window as unknown as { __flowtap: { state: { charts: { overhead?: { data: number[][] } } } } }).__flowtap.state.charts
      .overhead;
    return { points: Number(el.dataset.points), times: [...(u?.data[0] ?? [])], levels: [...(u?.data[3] ?? [])] };
  });
}

describe('the API and the dashboard against a live cloud', { skip, timeout: 10 * 60_000 }, () => {
  let broker: Broker | undefined;
  let server: ChildProcess | undefined;
  const serverLog: string[] = [];
  let url = '';
  let ip: Record<string, string> = {};
  let dvdInstances: Up['instances'] = {};
  let dvdServices: string[] = [];
  let sqlInstances: Up['instances'] = {};
  const token = { acme: '', other: '', operator: '' };
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  let navigations = 0;

  /** What the page lists and the broker holds, for a failure's message. */
  async function pageAndBroker(): Promise<string> {
    const listed = await page
      .$$eval('[data-testid=notice]', (els) =>
        els.map((e) => {
          const rs = [...e.querySelectorAll('[data-testid=reaction]')].map(
            (r) => `${r.querySelector('strong')?.textContent ?? ''} [${r.getAttribute('data-reaction-state') ?? ''}]`,
          );
          return `${e.getAttribute('data-note') ?? ''} ${e.querySelector('.msg')?.textContent ?? ''} ${rs.join('; ')}`;
        }),
      )
      .then((l) => l.join('\n'))
      .catch((e: unknown) => String(e));
    const recs = await broker!.store.query({ app: DVD, kinds: ['notice', 'reaction'], limit: 50, order: 'desc' });
    const shown = recs.map((r) =>
      r.kind === 'notice'
        ? `notice ${String(r.data.note)} ${String(r.data.msg)}`
        : `reaction ${String(r.data.event)} ${JSON.stringify((r.data.reaction as { action?: unknown })?.action)} notice ${String((r.data.reaction as { notice?: unknown })?.notice)}`,
    );
    return `page:\n${listed}\nbroker (newest first):\n${shown.join('\n')}\nserver:\n${serverLog.slice(-10).join('\n')}`;
  }

  const api = (path: string, bearer: string | null, init: RequestInit = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: {
        ...(bearer !== null ? { authorization: `Bearer ${bearer}` } : {}),
        ...(init.body ? { 'content-type': 'application/json' } : {}),
      },
    });

  before(async () => {
    const t0 = Date.now();
    await flowtap('down', DVD);
    await flowtap('down', SQL);
    const dvd = descriptorCopy('dvd-rental', DVD);
    dvdServices = dvd.services;
    const store = `sqlite:${join(stateDir, `${DVD}-broker.db`)}`;
    const bus = NATS
      ? `${NATS}${NATS.includes('?') ? '&' : '?'}stream=FT_LIVE&prefix=ftlive`
      : `memory:${join(stateDir, `${DVD}-broker.db`)}`;
    const d = await up(
      dvd.file,
      ...['public-http.dl', 'database.dl', 'message-queue.dl'].flatMap((p) => ['--policy', join(P, p)]),
      ...['--store', store, '--bus', bus, '--period', String(PERIOD_MS / 1000)],
      ...['--controller', '--rules', RULES],
    );
    dvdInstances = d.instances;
    ip = Object.fromEntries(Object.entries(d.instances).map(([k, v]) => [k, v.ip]));
    const sql = descriptorCopy('web-sql', SQL, SQL_TENANT);
    sqlInstances = (await up(sql.file)).instances;
    const b = await openBroker({ store, bus });
    assert.ok(b.ok, b.ok ? '' : JSON.stringify(b.errors));
    broker = b.value;

    token.acme = await issue('acme-live', '--tenant', 'acme');
    token.other = await issue('other-live', '--tenant', SQL_TENANT);
    token.operator = await issue('operator-live', '--operator');

    const [cmd, ...args] = flowtapCommand('serve', '--listen', '127.0.0.1:0');
    server = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, FLOWTAP_STATE_DIR: stateDir }, stdio: ['ignore', 'ignore', 'pipe'] });
    server.stderr!.on('data', (b: Buffer) => {
      for (const l of String(b).split('\n').filter(Boolean)) {
        serverLog.push(l);
        url ||= /API, metrics and dashboard at (http:\/\/\S+)/.exec(l)?.[1] ?? '';
      }
    });
    const t1 = Date.now();
    while (!url) {
      assert.equal(server.exitCode, null, `serve exited: ${serverLog.join('\n')}`);
      assert.ok(Date.now() - t1 < 20_000, `serve listening within 20 s: ${serverLog.join('\n')}`);
      await sleep(50);
    }

    // The controller first configures every node through its agent and verifies the deployment
    // with the live probe: a verbosity change or an attack before then would race it.
    let verified = false;
    while (!verified) {
      const chain = await broker.store.query({ app: DVD, kinds: ['config'], text: '"kind":"deployed"' });
      verified = chain.some((r) => r.data.workflow && r.data.step === 'verified');
      assert.ok(verified || Date.now() - t0 < 150_000, 'the controller verified the deployment');
      if (!verified) await sleep(500);
    }
    console.log(`# set up in ${((Date.now() - t0) / 1000).toFixed(1)} s, API at ${url}`);

    mkdirSync(SHOTS, { recursive: true });
    ({ browser, page } = await chromiumPage(pageErrors));
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    if (server && server.exitCode === null) {
      const s = server;
      const exited = new Promise<void>((r) => s.on('exit', () => r()));
      s.kill('SIGTERM');
      const killer = setTimeout(() => s.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    await broker?.close();
    await flowtap('down', DVD);
    await flowtap('down', SQL);
  });

  test('each tenant sees only its own application, both ways; the operator sees both; no valid token, 401', async () => {
    const names = async (bearer: string) => {
      const r = await api('/api/v1/apps', bearer);
      assert.equal(r.status, 200);
      return ((await r.json()) as { apps: { name: string }[] }).apps.map((a) => a.name).sort();
    };
    assert.deepEqual(await names(token.acme), [DVD]);
    assert.deepEqual(await names(token.other), [SQL]);
    assert.deepEqual(await names(token.operator), [DVD, SQL]);

    const routes: [string, string, RequestInit?][] = [
      ['graph', '/graph'],
      ['records', '/records?limit=5'],
      ['reactions', '/reactions'],
      ['notices', '/notices'],
      ['verbosity', '/verbosity', { method: 'PUT', body: JSON.stringify({ level: 1 }) }],
    ];
    const pairs: [string, string, string][] = [
      [token.acme, SQL, 'acme reads the other tenant'],
      [token.other, DVD, 'the other tenant reads acme'],
    ];
    for (const [bearer, app, who] of pairs)
      for (const [what, path, init] of routes) {
        const r = await api(`/api/v1/apps/${app}${path}`, bearer, init);
        const body = await r.text();
        // Answered as for an application that does not exist.
        const none = await api(`/api/v1/apps/no-such-app${path}`, bearer, init);
        assert.equal(r.status, 404, `${who}: ${what} ${r.status} ${body}`);
        assert.equal(body, (await none.text()).replace('no-such-app', app), `${who}: ${what}`);
        assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'E_API_NOT_FOUND');
      }
    // Its own application answers each of the reads (the 404s above are tenancy, not the routes).
    for (const [bearer, app] of [
      [token.acme, DVD],
      [token.other, SQL],
      [token.operator, DVD],
      [token.operator, SQL],
    ])
      for (const [what, path, init] of routes.filter(([, , i]) => !i)) {
        const r = await api(`/api/v1/apps/${app}${path}`, bearer, init);
        assert.equal(r.status, 200, `${app} ${what}: ${await r.text()}`);
      }
    const g = (await (await api(`/api/v1/apps/${SQL}/graph`, token.other)).json()) as { instances: { label: string }[] };
    assert.deepEqual(g.instances.map((i) => i.label).sort(), Object.keys(sqlInstances).sort());
    // Nothing of the other tenant's leaks into the stream or the metrics either.
    const stream = await api(`/api/v1/apps/${DVD}/records/stream?token=${token.other}`, null);
    assert.equal(stream.status, 404);
    await stream.body?.cancel();
    const metrics = await (await api('/metrics', token.other)).text();
    assert.ok(!metrics.includes(DVD), 'the other tenant’s metrics name no application of acme');
    assert.ok(metrics.includes(`app="${SQL}"`), metrics.slice(0, 500));

    for (const bearer of [null, '', 'ftk_nope_nope', `${token.acme.slice(0, -2)}xx`]) {
      for (const path of ['/api/v1/apps', `/api/v1/apps/${DVD}/graph`]) {
        const r = await api(path, bearer);
        assert.equal(r.status, 401, `${path} with ${String(bearer)}`);
        assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'E_API_AUTH');
      }
    }
  });

  test("the deployed workflow's probe: its denied attempts are listed as notices marked as flowtap's probe, none reacted to", async () => {
    const r = await api(`/api/v1/apps/${DVD}/notices?limit=500`, token.acme);
    assert.equal(r.status, 200);
    const { notices } = (await r.json()) as { notices: { note: string; probe?: boolean; reaction?: unknown }[] };
    const probed = notices.filter((n) => n.probe);
    assert.ok(probed.length > 0, JSON.stringify(notices.slice(0, 3)));
    assert.ok(probed.every((n) => n.note === 'FlowTap::Unauthorized_Connection' && n.reaction === undefined));
  });

  test('the dashboard, signed in as acme, lists only dvd-live and draws every service and instance', async () => {
    await page.goto(url);
    await page.fill('[data-testid=login-token]', token.acme);
    await page.click('[data-testid=login-submit]');
    await page.waitForSelector(`[data-testid=app-picker] [data-app=${DVD}]`, { state: 'visible' });
    const apps = await page.$$eval('[data-testid=app-option]', (els) => els.map((e) => (e as HTMLElement).dataset.app));
    assert.deepEqual(apps, [DVD]);
    await page.click(`[data-testid=app-picker] [data-app=${DVD}]`);
    const want = Object.keys(dvdInstances).length;
    await page.waitForFunction(
      (n) =>
        (window as unknown as { __flowtap: { cy: { nodes(s: string): { length: number } } } }).__flowtap.cy.nodes('.instance').length === n,
      want,
      { timeout: 15_000 },
    );
    const g = await readGraph(page);
    assert.deepEqual(g.services.sort(), dvdServices.map((s) => `svc:${s}`).sort());
    assert.deepEqual(
      g.instances.map((i) => `${i.id}@${i.parent}`).sort(),
      Object.entries(dvdInstances)
        .map(([name, a]) => `inst:${name}@node:${a.node}`)
        .sort(),
    );
    assert.ok(
      g.instances.every((i) => !i.quarantined),
      'nothing quarantined yet',
    );
    await page.waitForSelector('[data-testid=stream-status][data-status=live]', { timeout: 10_000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-live-graph.png') });
  });

  test('a verbosity change made in the page reaches the agent and moves the overhead chart', async () => {
    await page.selectOption('[data-testid=service-select]', 'svc:contract-update');
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid=overhead-chart]')?.getAttribute('data-points')) > 0,
      null,
      {
        timeout: 2 * PERIOD_MS + 5000,
      },
    );
    await page.selectOption('[data-testid=verbosity-node]', 'node1');
    await page.selectOption('[data-testid=verbosity-collector]', '');
    await page.selectOption('[data-testid=verbosity-level]', '4');
    await page.fill('[data-testid=verbosity-period]', String(PERIOD_MS / 1000));
    const before = await overhead(page);
    const sent = Date.now();
    await page.click('[data-testid=verbosity-apply]');
    await page.waitForFunction(
      () => /node1 applied/.test(document.querySelector('[data-testid=verbosity-result]')?.textContent ?? ''),
      null,
      {
        timeout: 20_000,
      },
    );
    // The agent's acknowledgement, in the broker: node1 only, every collector at level 4.
    const acks = (await broker!.store.query({ app: DVD, kinds: ['config'], from: sent - 1000 })).filter(
      (r: StoredRecord) => r.data.what === 'verbosity' && r.data.outcome === 'applied',
    );
    assert.deepEqual(
      acks.map((r) => r.node),
      ['node1'],
      JSON.stringify(acks),
    );
    const settings = acks[0].data.settings as Record<string, { level: number; periodMs: number }>;
    assert.equal(settings.syscalls?.level, 4, JSON.stringify(settings));
    assert.ok(
      Object.values(settings).every((s) => s.level === 4 && s.periodMs === PERIOD_MS),
      JSON.stringify(settings),
    );
    const v = (await (await api(`/api/v1/apps/${DVD}/verbosity`, token.acme)).json()) as {
      nodes: Record<string, Record<string, { level: number }>>;
    };
    assert.equal(v.nodes.node1?.syscalls?.level, 4, JSON.stringify(v));
    assert.notEqual(v.nodes.node2?.syscalls?.level, 4, 'node2 was not asked');
    // The chart: new points, among them the agents at level 4, within two agent periods.
    const acked = acks[0].ts;
    let now = before;
    while (Date.now() < acked + 2 * PERIOD_MS) {
      now = await overhead(page);
      if (now.points > before.points && now.levels.some((l, i) => l === 4 && now.times[i] * 1000 >= sent - 1000)) break;
      await sleep(200);
    }
    assert.ok(now.points > before.points, `overhead points ${before.points} -> ${now.points}`);
    assert.ok(
      now.levels.some((l, i) => l === 4 && now.times[i] * 1000 >= sent - 1000),
      `a point at level 4 within two periods: ${JSON.stringify(now.levels.slice(-10))}`,
    );
    console.log(`# verbosity: acknowledged ${acked - sent} ms after the click, chart at level 4 ${Date.now() - sent} ms after it`);
    await page.screenshot({ path: join(SHOTS, 'dashboard-live-verbosity.png') });
    // Back to level 1: system calls on a 2-core machine cost what the next test needs.
    const back = await api(`/api/v1/apps/${DVD}/verbosity`, token.acme, {
      method: 'PUT',
      body: JSON.stringify({ node: 'node1', level: 1 }),
    });
    assert.equal(back.status, 200);
    assert.deepEqual(
      ((await back.json()) as { acks: { outcome: string }[] }).acks.map((a) => a.outcome),
      ['applied'],
    );
  });

  /** The reaction in the page that quarantines the attacker, and the notice item that holds it. */
  const quarantineReaction = () => page.locator('[data-testid=reaction]', { hasText: `quarantine ${ATTACKER}` }).first();
  const quarantineNotice = () => page.locator('[data-testid=notice]', { has: quarantineReaction() }).first();

  /** Waits until that reaction is in `state`. */
  const reactionState = (state: string, timeout: number) =>
    page
      .waitForFunction(
        ([text, state]) =>
          [...document.querySelectorAll('[data-testid=reaction]')].some(
            (r) => (r.textContent ?? '').includes(text) && r.getAttribute('data-reaction-state') === state,
          ),
        [`quarantine ${ATTACKER}`, state] as const,
        { timeout },
      )
      .catch(async (e: unknown) => assert.fail(`${String(e)}\n${await pageAndBroker()}`));

  test('an attack makes its notice appear and the attacker turn quarantined without a reload', async () => {
    await page.evaluate(() => {
      (window as unknown as { __liveMarker: string }).__liveMarker = 'before the attack';
    });
    const navigated = navigations;
    assert.equal(await canConnect(ins(ATTACKER), ip['db-0'], 5432, 2), true, 'the attacker may reach the database');
    // A compromised dvd-update reads the users table (it may touch only dvds and rentals). Not a
    // connection the firewall drops: with these three policies no tap copies a dropped SYN (that
    // is connection-attempts.dl), so the attack is one that gets through and the SQL monitor flags.
    const t0 = Date.now();
    await psqlIn(ins(ATTACKER), ip['db-0'], 'select count(*) from users');
    await quarantineNotice()
      .waitFor({ timeout: 30_000 })
      .catch(async (e: unknown) => assert.fail(`${String(e)}\n${await pageAndBroker()}`));
    assert.ok(await quarantineNotice().getAttribute('data-notice-id'));
    assert.equal(await quarantineNotice().getAttribute('data-note'), 'FlowTap::Disallowed_SQL');
    await quarantinedInPage(page, `inst:${ATTACKER}`, true, 30_000);
    console.log(`# attack: notice and quarantine shown ${Date.now() - t0} ms after it`);
    assert.equal(await page.evaluate(() => (window as unknown as { __liveMarker?: string }).__liveMarker), 'before the attack');
    assert.equal(navigations, navigated, 'the page was not reloaded');
    assert.match((await page.textContent('[data-testid=quarantined-list]')) ?? '', new RegExp(`${ATTACKER} quarantined`));
    await reactionState('confirmed', 30_000);
    // The same notice made the controller look closer at the target too: both reactions are shown, each with its buttons.
    const shown = await quarantineNotice()
      .locator('[data-testid=reaction]')
      .evaluateAll((els) => els.map((e) => (e.querySelector('strong')?.textContent ?? '').trim()));
    assert.deepEqual(shown.sort(), [`quarantine ${ATTACKER}`, 'raise the agent level to 4 for db-0'], JSON.stringify(shown));
    assert.equal(await canConnect(ins(ATTACKER), ip['db-0'], 5432, 1), false, `${ATTACKER} is cut off`);
    const shot = join(SHOTS, 'dashboard-live-quarantine.png');
    // The first screen: the graph and the notice (the verbosity form's Apply scrolled the page).
    await quarantineNotice().scrollIntoViewIfNeeded();
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shot });
    copyFileSync(shot, join(ROOT, 'docs', 'dashboard.png'));
    assert.ok(statSync(shot).size < 400 * 1024, `${statSync(shot).size} bytes`);
  });

  test('Undo in the page releases the instance: no longer quarantined, running, reachable again', async () => {
    await quarantineReaction().locator('[data-testid=reaction-undo]').click();
    await quarantinedInPage(page, `inst:${ATTACKER}`, false, 20_000);
    await reactionState('undone', 10_000);
    const status = JSON.parse((await flowtap('status', DVD, '--json')).stdout) as { instances: { instance: string; state: string }[] };
    assert.equal(status.instances.find((i) => i.instance === ATTACKER)?.state, 'running');
    assert.equal(await canConnect(ins(ATTACKER), ip['db-0'], 5432, 2), true, `${ATTACKER} reaches the database again`);
    assert.equal(await canConnect(ins('dvd-return-0'), ip[ATTACKER], 8080, 2), true, `dvd-return reaches ${ATTACKER} again`);
    assert.equal(await page.evaluate(() => (window as unknown as { __liveMarker?: string }).__liveMarker), 'before the attack');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SHOTS, 'dashboard-live-undone.png') });
    assert.deepEqual(pageErrors, []);
  });
});
