/**
 * Test helpers for the local cloud without root: the example descriptors, a state folder of
 * the test's own, a stand-in for the controller that logs what every desired state it hands
 * out was rendered from (so a test sees which spec and context reached the data plane), and
 * nft's echo of a full replacement, so the backend learns rule handles as it would from nft.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inferFirewall } from '../firewall/index.js';
import { loadApp, planAddresses } from '../model/index.js';
import type { Responder, RunResult, System } from '../system/index.js';
import type { DeploymentSpec, ManagementContext, Prepare } from './lifecycle.js';
import type { LocalCloudEnv } from './local-cloud.js';

/** A file of the repository, found from wherever the tests were compiled to. */
export function repoFile(relative: string): string {
  if (isAbsolute(relative)) return relative;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, relative)) && existsSync(join(dir, 'package.json'))) return join(dir, relative);
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find ${relative} above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

export const ROOT = '/project';

export function testEnv(system: System): LocalCloudEnv & { stateDir: string } {
  return { system, stateDir: mkdtempSync(join(tmpdir(), 'flowtap-orch-')), root: ROOT, monitorSettleMs: 0, readyTimeout: 1 };
}

export function specOf(descriptor: string, change: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return { descriptor: repoFile(descriptor), policies: [], mode: 'enforce', strategy: 'per-node', downMonitors: [], ...change };
}

/** What a desired state was rendered from, one line. */
function scriptHeader(spec: DeploymentSpec, node: string, ctx: ManagementContext): string {
  const by = (s: string) =>
    Object.entries(ctx.status)
      .filter(([, v]) => v === s)
      .map(([i]) => i)
      .join(',');
  return `# ${node} mode=${spec.mode} strategy=${spec.strategy} down=${spec.downMonitors.join(',')} isolated=${by('isolated')} terminated=${by('terminated')}`;
}

export interface FakeLog {
  /** Every spec the deployment was prepared from. */
  specs?: DeploymentSpec[];
  /** Every desired state asked for: `scriptHeader` of its spec, node and context. */
  desired?: string[];
}

/** The controller's part, faked: the inferred firewall and no taps, logging what it renders. */
export function fakePrepare(log: FakeLog = {}): Prepare {
  return (spec, addressing) => {
    log.specs?.push(structuredClone(spec));
    const loaded = loadApp(spec.descriptor);
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const app = loaded.value;
    const planned = addressing ? { ok: true as const, value: addressing } : planAddresses(app);
    if (!planned.ok) throw new Error(JSON.stringify(planned.errors));
    const ruleset = inferFirewall(app);
    return {
      app,
      addressing: planned.value,
      desired: (node, ctx) => {
        log.desired?.push(scriptHeader(spec, node, ctx));
        return { node, app, ruleset, contracts: [], mode: spec.mode, downMonitors: spec.downMonitors, context: ctx };
      },
      monitorCommand: (m) => ['flowtap', 'monitor', '--iface', 'any', '--app', m.descriptor, '--log-dir', m.logDir],
      summary: 'fake rules',
    };
  };
}

interface FakeChain {
  name: string;
  rules: { handle: number; text: string; comment: string }[];
}

type FakeTables = Map<string, FakeChain[]>;

/**
 * Just enough of nft, per namespace, for the backend's exact commands to be those it issues
 * against the real one: whole tables replaced by `nft -f`, incremental scripts (`flush chain`,
 * `add|insert rule [position]`, `delete rule ... handle`, chains added and deleted) applied all
 * or nothing, `-c` checking without applying, `-e -a` echoing the handles it gave, and
 * `nft -j list table|chain` listing its chains, then their rules in order with their handles. A script that names a chain
 * or a handle that is not there is refused, as nft refuses it: so the backend's stamp check
 * works here too. Sets are not modelled (their statements are accepted).
 */
/** Chains first, empty ones too (the backend's stamp is one), then their rules, as nft lists them. */
function listed(key: string, chains: FakeChain[]): unknown[] {
  const [family, table] = key.split(' ');
  return [
    ...chains.map((c) => ({ chain: { family, table, name: c.name } })),
    ...chains.flatMap((c) =>
      c.rules.map((r) => ({
        rule: {
          family,
          table,
          chain: c.name,
          handle: r.handle,
          comment: r.comment || undefined,
          expr: [{ counter: { packets: 0, bytes: 0 } }],
        },
      })),
    ),
  ];
}

export class FakeNft {
  private readonly byNs = new Map<string, FakeTables>();
  private readonly links = new Map<string, Set<string>>();
  private handle = 1;

  /** A responder answering nft commands, leaving the rest to `next`. */
  responder(next: Responder = () => undefined): Responder {
    return (argv, opts) =>
      next(argv, opts) ??
      (argv[0] === 'nft'
        ? this.nft(argv.slice(1), opts.ns ?? '', opts.input ?? '')
        : argv[0] === 'ip'
          ? this.ip(argv, opts.ns ?? '')
          : undefined);
  }

  /**
   * The links `ip` made, per namespace: the backend looks up the devices an incremental update
   * sends to (`ip -j link show`), as nft would refuse a rule naming one that is not there.
   */
  private ip(argv: string[], ns: string): Partial<RunResult> | undefined {
    const at = argv[1] === '-n' ? argv[2] : ns;
    const rest = argv[1] === '-n' ? argv.slice(3) : argv.slice(1);
    const links = (n: string) => {
      let set = this.links.get(n);
      if (!set) {
        set = new Set(['lo']);
        this.links.set(n, set);
      }
      return set;
    };
    if (rest[0] === 'netns' && rest[1] === 'del') this.links.delete(rest[2]);
    else if (rest[0] === 'link' && rest[1] === 'del') links(at).delete(rest[2]);
    else if (rest[0] === 'link' && rest[1] === 'add') {
      const peer = rest.indexOf('peer');
      const own = peer < 0 ? rest : rest.slice(0, peer);
      const nsOf = (part: string[]) => (part.includes('netns') ? part[part.indexOf('netns') + 1] : at);
      links(nsOf(own)).add(rest[2]);
      if (peer >= 0) links(nsOf(rest.slice(peer))).add(rest[peer + 2]);
    } else if (rest.join(' ') === '-j link show' || (argv[1] === '-j' && argv[2] === 'link' && argv[3] === 'show'))
      return { stdout: `${JSON.stringify([...links(ns)].map((ifname) => ({ ifname })))}\n` };
    return undefined;
  }

  /** The rules in force in a namespace, `TABLE CHAIN: TEXT` in order. */
  rules(ns: string): string[] {
    const out: string[] = [];
    for (const [table, chains] of this.byNs.get(ns) ?? new Map<string, FakeChain[]>())
      for (const c of chains) for (const r of c.rules) out.push(`${table} ${c.name}: ${r.text}`);
    return out;
  }

  /** The handle of the rule with this comment in a namespace (the first such rule). */
  handleOf(ns: string, comment: string): number | undefined {
    for (const chains of (this.byNs.get(ns) ?? new Map<string, FakeChain[]>()).values())
      for (const c of chains) for (const r of c.rules) if (r.comment === comment) return r.handle;
    return undefined;
  }

  private nft(args: string[], ns: string, input: string): Partial<RunResult> | undefined {
    const cmd = args.join(' ');
    if (cmd === '-j list ruleset') {
      const items = [...(this.byNs.get(ns) ?? new Map<string, FakeChain[]>())].flatMap(([key, chains]) => listed(key, chains));
      return { stdout: `${JSON.stringify({ nftables: items })}\n` };
    }
    if (cmd.startsWith('-j list table ') || cmd.startsWith('-j list chain ')) {
      const key = args.slice(3, 5).join(' ');
      const one = args[2] === 'chain' ? args[5] : undefined;
      const all = this.byNs.get(ns)?.get(key);
      const chains = (one === undefined ? all : all?.filter((c) => c.name === one)) ?? [];
      if (!all || (one !== undefined && !chains.length))
        return { code: 1, stderr: `Error: No such file or directory; did you mean ${args[2]} ${one ?? key}?` };
      return { stdout: `${JSON.stringify({ nftables: listed(key, chains) })}\n` };
    }
    if (!args.includes('-f')) return undefined;
    const before: FakeTables = this.byNs.get(ns) ?? new Map();
    const tables: FakeTables = new Map([...before].map(([k, cs]) => [k, cs.map((c) => ({ name: c.name, rules: [...c.rules] }))]));
    const next = this.handle;
    const echo: string[] = [];
    try {
      this.script(tables, input, echo);
    } catch (e) {
      this.handle = next;
      return { code: 1, stderr: `/dev/stdin:1:1-1: Error: ${(e as Error).message}` };
    }
    if (args.includes('-c')) {
      this.handle = next;
      return {};
    }
    this.byNs.set(ns, tables);
    return args.includes('-e') ? { stdout: `${echo.join('\n')}\n` } : {};
  }

  private script(tables: FakeTables, input: string, echo: string[]): void {
    const missing = (what: string): never => {
      throw new Error(`Could not process rule: No such file or directory (${what})`);
    };
    const tableOf = (key: string) => tables.get(key) ?? missing(`table ${key}`);
    const chainOf = (key: string, name: string) => tableOf(key).find((x) => x.name === name) ?? missing(`chain ${key} ${name}`);
    const at = (chain: FakeChain, handle: string) => {
      const i = chain.rules.findIndex((r) => r.handle === Number(handle));
      return i >= 0 ? i : missing(`handle ${handle}`);
    };
    const added = (key: string, chain: FakeChain, text: string) => {
      const r = { handle: this.handle++, text, comment: /\bcomment "([^"]*)"\s*$/.exec(text)?.[1] ?? '' };
      echo.push(`add rule ${key} ${chain.name} ${text} # handle ${r.handle}`);
      return r;
    };
    const declare = (key: string) => {
      if (!tables.has(key)) tables.set(key, []);
    };
    // One-line statements, tried in order (the more specific `add rule ... position` first).
    const statements: [RegExp, (m: string[]) => void][] = [
      [/^table (\S+ \S+)$/, ([, t]) => declare(t)],
      [/^delete table (\S+ \S+)$/, ([, t]) => tables.delete(t) || missing(`table ${t}`)],
      [
        /^add chain (\S+ \S+) (\S+)/,
        ([, t, c]) => {
          const list = tableOf(t);
          if (!list.some((x) => x.name === c)) list.push({ name: c, rules: [] });
        },
      ],
      [/^flush chain (\S+ \S+) (\S+)$/, ([, t, c]) => (chainOf(t, c).rules = [])],
      [
        /^delete chain (\S+ \S+) (\S+)$/,
        ([, t, c]) =>
          tables.set(
            t,
            tableOf(t).filter((x) => x !== chainOf(t, c)),
          ),
      ],
      [/^delete rule (\S+ \S+) (\S+) handle (\d+)$/, ([, t, c, h]) => chainOf(t, c).rules.splice(at(chainOf(t, c), h), 1)],
      [/^insert rule (\S+ \S+) (\S+) (.*)$/, ([, t, c, r]) => chainOf(t, c).rules.unshift(added(t, chainOf(t, c), r))],
      [
        /^add rule (\S+ \S+) (\S+) position (\d+) (.*)$/,
        ([, t, c, h, r]) => chainOf(t, c).rules.splice(at(chainOf(t, c), h) + 1, 0, added(t, chainOf(t, c), r)),
      ],
      [/^add rule (\S+ \S+) (\S+) (.*)$/, ([, t, c, r]) => chainOf(t, c).rules.push(added(t, chainOf(t, c), r))],
      [/^(add|delete) (set|element) /, () => {}],
    ];
    // Inside a `table F T { ... }` block: chains and their rules (sets are skipped).
    let block: { key: string; chain?: FakeChain } | null = null;
    for (const line of input.split('\n')) {
      if (block) {
        const chain = /^ {2}chain (\S+) \{$/.exec(line);
        if (line === '}') block = null;
        else if (chain) {
          block.chain = { name: chain[1], rules: [] };
          tableOf(block.key).push(block.chain);
        } else if (/^ {2}\S/.test(line)) block.chain = undefined;
        else if (block.chain && /^ {4}(?!type |#)\S/.test(line)) block.chain.rules.push(added(block.key, block.chain, line.trim()));
        continue;
      }
      const opened = /^table (\S+ \S+) \{$/.exec(line);
      if (opened) {
        declare(opened[1]);
        block = { key: opened[1] };
        continue;
      }
      if (!line.trim()) continue;
      const found = statements.find(([re]) => re.test(line));
      if (!found) throw new Error(`syntax error: ${line}`);
      found[1](found[0].exec(line) as RegExpExecArray);
    }
  }
}
