/**
 * The deployments of the local cloud as a long-running server sees them: their state files,
 * read again whenever one changes (another process isolates an instance, a deployment comes
 * or goes), what each renders to (firewall, tap contracts), its orchestrator, and its broker,
 * opened once per broker address (deployments often share the embedded one) and kept open.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openBroker, type Broker } from '../broker/index.js';
import { prepareDeployment, type Deployment } from '../controller/index.js';
import { FlowtapError } from '../diagnostics/index.js';
import { parseState, type CloudState, type Orchestrator } from '../orchestrator/index.js';
import { ApiCode } from './codes.js';
import { apiError } from './errors.js';

/** How a server reaches a deployment's orchestrator (the CLI passes its attachCloud). */
export type Attach = (app: string) => Promise<Orchestrator>;

/** App names as the local cloud makes them: nothing else is looked up on disk. */
const APP_NAME = /^[a-z][a-z0-9-]{0,62}$/;
/** The API's own file in the state folder: not a deployment. */
const NOT_APPS = new Set(['tokens']);

interface Entry {
  key: string;
  state: CloudState;
  deployment?: Deployment;
  orchestrator?: Promise<Orchestrator>;
  status?: { at: number; value: Promise<Record<string, 'running' | 'down'>> };
}

/** `postgres://user:secret@host/db` -> `postgres://user:***@host/db`: addresses are shown to tenants. */
export function maskAddress(address: string): string {
  return address.replace(/(\/\/[^/:@]*):[^/@]*@/, '$1:***@');
}

export class Deployments {
  private readonly entries = new Map<string, Entry>();
  private readonly brokers = new Map<string, Promise<Broker>>();

  constructor(
    readonly stateDir: string,
    private readonly attach: Attach,
    /** How long a monitor health reading is reused (each costs a command per monitor). */
    private readonly statusTtlMs = 2000,
  ) {}

  /** Names of every deployment with a readable state file. */
  names(): string[] {
    let files: string[];
    try {
      files = readdirSync(this.stateDir);
    } catch {
      return [];
    }
    return files
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.slice(0, -'.json'.length))
      .filter((n) => APP_NAME.test(n) && !NOT_APPS.has(n) && this.load(n) !== null);
  }

  private load(app: string): Entry | null {
    if (!APP_NAME.test(app) || NOT_APPS.has(app)) return null;
    const file = join(this.stateDir, `${app}.json`);
    let key: string;
    try {
      const st = statSync(file);
      key = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      this.entries.delete(app);
      return null;
    }
    const known = this.entries.get(app);
    if (known?.key === key) return known;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return null;
    }
    const parsed = parseState(text, file);
    // A damaged state file is no deployment the API can show (`flowtap status` names the problem).
    if (!parsed.ok || parsed.value.app !== app) {
      this.entries.delete(app);
      return null;
    }
    const entry: Entry = { key, state: parsed.value };
    this.entries.set(app, entry);
    return entry;
  }

  /** The state of a deployment; null when there is none. */
  state(app: string): CloudState | null {
    return this.load(app)?.state ?? null;
  }

  private entry(app: string): Entry {
    const e = this.load(app);
    if (!e) throw apiError(ApiCode.NOT_FOUND, `no application "${app}"`);
    return e;
  }

  /** The state of a deployment; E_API_NOT_FOUND when there is none. */
  need(app: string): CloudState {
    return this.entry(app).state;
  }

  /** What the deployment renders to now: its model, firewall and tap contracts. */
  rendered(app: string): { state: CloudState; deployment: Deployment } {
    const e = this.entry(app);
    if (!e.deployment) {
      const s = e.state.spec;
      e.deployment = prepareDeployment(
        s.descriptor,
        { policies: s.policies, mode: s.mode, strategy: s.strategy, downMonitors: s.downMonitors, sampledMonitors: s.sampledMonitors },
        e.state.addressing,
      );
    }
    return { state: e.state, deployment: e.deployment };
  }

  /** The deployment's orchestrator, attached again once its state changed. */
  orchestrator(app: string): Promise<Orchestrator> {
    const e = this.entry(app);
    if (!e.orchestrator) {
      const p = this.attach(app);
      e.orchestrator = p;
      p.catch(() => {
        if (e.orchestrator === p) e.orchestrator = undefined;
      });
    }
    return e.orchestrator;
  }

  /** Whether each monitor's process runs, read at most every statusTtlMs. */
  monitorHealth(app: string): Promise<Record<string, 'running' | 'down'>> {
    const e = this.entry(app);
    const now = Date.now();
    if (!e.status || now - e.status.at > this.statusTtlMs) {
      const value = this.orchestrator(app)
        .then((o) => o.status({ probe: false }))
        .then((s) => Object.fromEntries(s.monitors.map((m) => [m.monitor, m.health])));
      // A failed reading is not kept: the next request tries again.
      value.catch(() => {
        if (e.status?.value === value) e.status = undefined;
      });
      e.status = { at: now, value };
    }
    return e.status.value;
  }

  /** The deployment's broker, opened on first use and kept open. */
  broker(app: string): Promise<Broker> {
    const state = this.entry(app).state;
    const addresses = state.spec.broker;
    if (!addresses) throw apiError(ApiCode.CONFLICT, `${app} was deployed without a broker: it has no records`);
    const key = `${addresses.store}\n${addresses.bus}`;
    let b = this.brokers.get(key);
    if (!b) {
      b = openBroker({ ...addresses }).then((r) => {
        if (!r.ok) throw new FlowtapError(r.errors);
        return r.value;
      });
      this.brokers.set(key, b);
      const opened = b;
      opened.catch(() => {
        if (this.brokers.get(key) === opened) this.brokers.delete(key);
      });
    }
    return b;
  }

  async close(): Promise<void> {
    const open = [...this.brokers.values()];
    this.brokers.clear();
    for (const b of open) await b.then((x) => x.close()).catch(() => undefined);
  }
}
