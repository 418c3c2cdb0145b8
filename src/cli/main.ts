/**
 * The command tree. Start-up loads commander, the option definitions and the exit-code helpers,
 * nothing else: each action imports its command module when it runs, so `flowtap --help` or a
 * mistyped option never pays for the model, the Datalog engine, the monitor or the local cloud.
 * Only `import type` may name a command module here.
 */
import { Command, CommanderError, Option } from 'commander';
import { type DiagCode, diag } from '../diagnostics/index.js';
import { CliCode } from './codes.js';
import { stopSignal } from './signals.js';
import { EXIT_BAD_INPUT, processIo, reportDiagnostics, runCommand, type Io } from './exit.js';
import {
  CONNLIST_FORMATS,
  commaList,
  countArg,
  FIREWALL_FORMATS,
  formatOption,
  INLINE_MODES,
  type InlineMode,
  INLINE_VERDICTS,
  jsonOption,
  levelArg,
  listOption,
  LOG_FORMATS,
  modeOption,
  periodArg,
  policyOption,
  positiveSeconds,
  servicePort,
  serverOption,
  strategyOption,
  TAPS_FORMATS,
  timeArg,
  type Mode,
  type Strategy,
} from './options.js';
import {
  commands,
  type ConnlistOptions,
  type ExplainOptions,
  type ExplainTapOptions,
  type FirewallOptions,
  type MonitorOptions,
  type PolicyEvalOptions,
  type ReactionsOptions,
  type ReconfigureOptions,
  type RecordsOptions,
  type RestrictOptions,
  type ServeOptions,
  type SimulateOptions,
  type TapsOptions,
  type VerbosityOptions,
  type VerifyOptions,
  type WhyOptions,
} from './commands/index.js';
import type { CloudEnv } from './attach.js';

interface JsonOption {
  json?: boolean;
}

interface UpCliOptions extends JsonOption {
  policy: string[];
  mode: Mode;
  strategy: Strategy;
  store?: string;
  bus?: string;
  level: number;
  period: number;
  controller?: boolean;
  rules?: string;
  dryRun?: boolean;
  inlineMode: InlineMode;
  inlineWorkers?: number;
  dataplane: 'nftables' | 'ovs';
}

/** Most records one `flowtap records` prints before following (the store's own cap). */
const RECORDS_MAX = 10_000;

const OPERATIONS = ['isolate', 'release', 'terminate', 'redeploy'] as const;

/**
 * Builds the command tree; every action stores its exit code instead of exiting, so tests can
 * call main(). `cloud` is where the deployment commands act (tests: a recording system).
 */
export async function main(argv: string[], io: Io = processIo, cloud: CloudEnv = {}): Promise<number> {
  let code = 0;
  // A script that asked for JSON gets its usage errors as JSON too (on stdout, like every other error).
  const wantsJson = argv.includes('--json');
  const program = new Command('flowtap')
    .description('security-as-a-service for microservice applications')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
      outputError: (s, write) => {
        if (!wantsJson) write(s);
      },
    });

  const json = (o: JsonOption): boolean => o.json === true;
  /**
   * Wraps a command body: its positional arguments (typed by the caller, in the order the command
   * declares them) and its options as commander parsed and checked them.
   */
  const run = <A extends unknown[], O extends JsonOption>(body: (...a: [...A, O]) => Promise<number>) =>
    async function (this: Command): Promise<void> {
      const o = this.opts<O>();
      const args = this.processedArgs as A;
      code = await runCommand(io, json(o), () => body(...args, o));
    };

  program
    .command('validate')
    .description('check an application descriptor')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .addOption(jsonOption())
    .action(run<[string], JsonOption>(async (app, o) => (await commands.validate()).cmdValidate(io, app, json(o))));

  program
    .command('firewall')
    .description('infer least-privilege firewall rules')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .addOption(formatOption(FIREWALL_FORMATS, 'json'))
    .option('--node <node>', 'only this node (nft)')
    .addOption(modeOption('enforce, or audit: count and log what would be dropped (nft)'))
    .addOption(jsonOption('same as --format json'))
    .action(run<[string], FirewallOptions>(async (app, o) => (await commands.firewall()).cmdFirewall(io, app, o)));

  program
    .command('verify')
    .description('check that the rules allow exactly the required connections')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .option('--rules <file>', 'verify this (hand-edited) ruleset instead of the inferred one')
    .addOption(new Option('--live', 'probe the running cloud with real TCP connections').conflicts('rules'))
    .addOption(jsonOption())
    .action(run<[string], VerifyOptions>(async (app, o) => (await commands.verify()).cmdVerify(io, app, o, cloud)));

  program
    .command('connlist')
    .description('connectivity allowed by Kubernetes NetworkPolicies')
    .argument('<dir>', 'folder of Kubernetes manifests')
    .addOption(formatOption(CONNLIST_FORMATS, 'txt'))
    .addOption(jsonOption('same as --format json'))
    .action(run<[string], ConnlistOptions>(async (dir, o) => (await commands.connlist()).cmdConnlist(io, dir, o)));

  program
    .command('explain')
    .description('why a connection is allowed or denied')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .requiredOption('--from <service>', 'source service or "external"')
    .addOption(
      new Option('--to <service:port>', 'destination service and port (name or number)').argParser(servicePort).makeOptionMandatory(),
    )
    .option('--rules <file>', 'explain against this ruleset')
    .addOption(jsonOption())
    .action(run<[string], ExplainOptions>(async (app, o) => (await commands.explain()).cmdExplain(io, app, o)));

  program
    .command('policy')
    .description('Datalog policies')
    .command('eval')
    .description('evaluate a Datalog program')
    .argument('<file>', 'Datalog program')
    .option('--facts <app>', 'add the facts of this application')
    .option('--query <pred>', 'print only this predicate')
    .addOption(new Option('--max-seconds <s>', 'stop a runaway program after this long (default 10)').argParser(positiveSeconds))
    .addOption(
      new Option('--max-mb <n>', 'stop a runaway program once it has taken this much memory (default 512)').argParser(countArg(1 << 20)),
    )
    .addOption(jsonOption())
    .action(run<[string], PolicyEvalOptions>(async (file, o) => (await commands.policyEval()).cmdPolicyEval(io, file, o)));

  program
    .command('simulate')
    .description('where a packet goes through the compiled firewall and taps (simulated datapath, no root)')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .addOption(policyOption())
    .addOption(strategyOption())
    .requiredOption('--packet <spec>', "a packet in flow syntax, e.g. 'tcp,nw_src=10.77.0.5,nw_dst=10.77.1.4,tp_dst=5432'")
    .option('--from <instance>', 'where the packet enters: an instance, or "external"', 'external')
    .option('--established', 'the packet belongs to an established connection')
    .addOption(
      new Option('--inline-verdict <v>', 'what an inline monitor does with a redirected packet').choices(INLINE_VERDICTS).default('pass'),
    )
    .addOption(jsonOption())
    .action(run<[string], SimulateOptions>(async (app, o) => (await commands.simulate()).cmdSimulate(io, app, o)));

  program
    .command('monitor')
    .description('the Zeek-like security monitor')
    .addOption(new Option('--pcap <file>', 'read a pcap or pcapng file').conflicts('iface'))
    .option('--iface <if>', 'capture live on this interface (a monitor port)')
    .option('--app <app>', 'application descriptor: enables the connection, request and integrity policies')
    .option('--addressing <file>', 'addresses of the instances (state JSON); default: the planned ones')
    .option('--log-dir <dir>', 'write conn.log, http.log, sql.log, nats.log, notice.log, weird.log here')
    .addOption(formatOption(LOG_FORMATS, 'tsv', 'log format'))
    .addOption(new Option('--duration <seconds>', 'live capture: stop after this many seconds').argParser(positiveSeconds))
    .option('--fail-on-notice', 'exit 1 when any notice was raised')
    .addOption(
      new Option(
        '--inline [mode]',
        'stand in the path of redirected flows: pass or block each request (in a monitor namespace); hold: until retransmitted, queue: netfilter queues',
      )
        .choices(INLINE_MODES)
        .preset('hold'),
    )
    .addOption(
      new Option('--workers <n>', 'with --inline=queue: processes judging the queues, each its share of the flows (default 1)').argParser(
        countArg(32),
      ),
    )
    .addOption(
      new Option(
        '--observes <instances>',
        "comma-separated instances whose incoming requests this monitor's taps deliver (default: all)",
      ).argParser(commaList),
    )
    .addOption(jsonOption('notices as JSON lines, the closing report as JSON'))
    .action(run<[], MonitorOptions>(async (o) => (await commands.monitor()).cmdMonitor(io, o)));

  program
    .command('taps')
    .description('compile monitoring policies into FlowTap contracts (ftc) and place them on monitors')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .addOption(policyOption(true))
    .addOption(strategyOption())
    .addOption(formatOption(TAPS_FORMATS, 'text'))
    .option('--loads <file>', 'JSON: instance -> expected Mbit/s')
    .option('--previous <file>', 're-place from this earlier `taps --json` output, moving as few flows as possible')
    .addOption(jsonOption('same as --format json'))
    .action(run<[string], TapsOptions>(async (app, o) => (await commands.taps()).cmdTaps(io, app, o)));

  program
    .command('explain-tap')
    .description('which policy rule produced which contract, and which rendered rule matches a packet (dry run)')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .addOption(policyOption(true))
    .addOption(strategyOption())
    .requiredOption('--packet <spec>', "a packet in flow syntax, e.g. 'tcp,nw_src=10.77.0.2,tp_dst=5432'")
    .addOption(jsonOption())
    .action(run<[string], ExplainTapOptions>(async (app, o) => (await commands.taps()).cmdExplainTap(io, app, o)));

  program
    .command('up')
    .description('deploy the application on this machine (network namespaces) with its firewall and taps')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .addOption(policyOption())
    .addOption(modeOption())
    .addOption(strategyOption())
    .option('--store <url>', 'context broker store: sqlite:FILE or postgres://USER@HOST:PORT/DB (default: sqlite in the state folder)')
    .option('--bus <url>', 'context broker bus: memory (in the SQLite file), memory:FILE or nats://HOST:PORT')
    .addOption(
      new Option(
        '--level <n>',
        "the node agents' starting level: 0 off, 1 counters, 2 + flows and logs, 3 + monitor rows, 4 + system calls",
      )
        .argParser(levelArg)
        .default(1),
    )
    .addOption(new Option('--period <seconds>', 'how often the agents collect').argParser(periodArg).default(5000, '5'))
    .option('--controller', 'start the security controller (`flowtap serve`) with the deployment; needs --rules')
    .option('--rules <file>', 'the reaction rules of the controller, e.g. examples/dvd-rental/reactions.dl')
    .option('--dry-run', 'the controller records would-be reactions only')
    .addOption(
      new Option('--inline-mode <mode>', 'how monitors stand in redirected flows: hold (until retransmitted) or queue (netfilter queues)')
        .choices(INLINE_MODES)
        .default('hold' satisfies InlineMode),
    )
    .addOption(
      new Option('--inline-workers <n>', "with --inline-mode queue: processes judging each inline monitor's queues (default 1)").argParser(
        countArg(32),
      ),
    )
    .addOption(
      new Option('--dataplane <kind>', "the nodes' data plane: nftables in each node's namespace, or an Open vSwitch bridge per node")
        .choices(['nftables', 'ovs'])
        .default('nftables'),
    )
    .addOption(jsonOption())
    .action(
      run<[string], UpCliOptions>(async (app, o) =>
        (await commands.cloud()).cmdUp(
          io,
          app,
          {
            policy: o.policy,
            mode: o.mode,
            strategy: o.strategy,
            store: o.store,
            bus: o.bus,
            level: o.level,
            periodMs: o.period,
            ...(o.controller ? { controller: { rules: o.rules ?? '', dryRun: o.dryRun === true } } : {}),
            inlineMode: o.inlineMode,
            ...(o.inlineWorkers !== undefined ? { inlineWorkers: o.inlineWorkers } : {}),
            ...(o.dataplane === 'ovs' ? { dataplane: 'ovs' as const } : {}),
            json: json(o),
          },
          cloud,
        ),
      ),
    );

  program
    .command('agent')
    .description("run one node's agent from its spec file (`flowtap up` starts one per node, in the node's namespace)")
    .requiredOption('--spec <file>', 'the agent spec (JSON) that `up` wrote')
    .addOption(jsonOption('errors as JSON'))
    .action(run<[], JsonOption & { spec: string }>(async (o) => (await commands.agent()).cmdAgent(io, o.spec, stopSignal())));

  program
    .command('relay', { hidden: true })
    .description("carry the agents' connections from Unix sockets to the broker's servers (`up` starts it)")
    .addOption(
      new Option('--route <socket=host:port>', 'a Unix socket and the server it leads to; repeatable').argParser(listOption).default([]),
    )
    .addOption(jsonOption('errors as JSON'))
    .action(run<[], JsonOption & { route: string[] }>(async (o) => (await commands.agent()).cmdRelay(io, o.route, stopSignal())));

  program
    .command('records')
    .description('what the node agents and the deployment recorded in the context broker')
    .argument('<app>', 'descriptor, folder or application name')
    .addOption(new Option('--kind <kinds>', 'only these record kinds (comma-separated or repeated)').argParser(listOption))
    .option('--node <node>', 'only records of this node')
    .option('--service <service>', 'only records about this service')
    .option('--instance <instance>', 'only records about this instance')
    .addOption(
      new Option('--since <time>', 'from this time: ISO (2026-11-21T09:30:00Z) or a duration before now (30s, 5m, 2h)').argParser((t) =>
        timeArg(t),
      ),
    )
    .addOption(new Option('--until <time>', 'before this time (same forms)').argParser((t) => timeArg(t)).conflicts('follow'))
    .option('--text <text>', 'only records whose data contains this text (ASCII case ignored)')
    .addOption(new Option('--limit <n>', 'the latest N that match').argParser(countArg(RECORDS_MAX)).default(100))
    .option('--follow', 'then print new records as they arrive, until interrupted')
    .option('--store <url>', "read this store instead of the deployment's")
    .option('--bus <url>', 'with --store: the bus beside it')
    .addOption(serverOption())
    .addOption(jsonOption('one JSON record per line'))
    .action(
      run<[string], RecordsOptions & JsonOption>(async (app, o) => (await commands.records()).cmdRecords(io, app, o, cloud, stopSignal)),
    );

  program
    .command('verbosity')
    .description('change what the node agents collect, at run time; waits for their acknowledgement')
    .argument('<app>', 'descriptor, folder or application name')
    .argument('<level>', '0 off, 1 counters, 2 + flows and logs, 3 + monitor rows, 4 + system calls', levelArg)
    .option('--node <node>', "only this node's agent")
    .option('--instance <instance>', "only records about this instance (its node's agent)")
    .option('--collector <c>', 'only this collector: counters, interfaces, flows, logs, monitor-logs, syscalls')
    .addOption(new Option('--period <seconds>', 'and collect this often').argParser(periodArg))
    .addOption(new Option('--timeout <seconds>', 'how long to wait for the agents').argParser(positiveSeconds).default(15))
    .option('--store <url>', "the deployment's broker, when it is not the recorded one")
    .option('--bus <url>', 'the bus beside it')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(
      run<[string, number], VerbosityOptions & JsonOption>(async (app, level, o) =>
        (await commands.verbosity()).cmdVerbosity(io, app, level, { ...o, json: json(o) }, cloud),
      ),
    );

  program
    .command('serve')
    .description(
      "run APP's security controller (reactions to notices, by reaction rules), the API with its metrics and dashboard (--listen), or both; with --kubeconfig, APP's firewall on a Kubernetes cluster; until SIGTERM",
    )
    .argument('[app]', 'descriptor, folder or application name: its controller')
    .option('--rules <file>', 'reaction rules (Datalog) of the controller, e.g. examples/dvd-rental/reactions.dl')
    .option('--listen <host:port>', 'serve the REST API, /metrics and the dashboard here, e.g. 127.0.0.1:8080')
    .option('--dry-run', 'record what would be done and its blast radius; change nothing')
    .addOption(
      new Option('--max-per-minute <n>', 'reactions applied per minute before the rest wait for approval').argParser(countArg(10_000)),
    )
    .addOption(
      new Option('--confirm-window <seconds>', 'how soon after an apply the offending flow must have stopped').argParser(positiveSeconds),
    )
    .option('--kubeconfig <file>', 'APP is on this Kubernetes cluster: keep its inferred firewall applied as NetworkPolicies')
    .option('--store <url>', 'with --kubeconfig: broker store, sqlite:FILE or postgres://... (default: sqlite in the state folder)')
    .addOption(
      new Option(
        '--connect-timeout <seconds>',
        "with --kubeconfig: how long to wait for the API server's first lists (default 30)",
      ).argParser(positiveSeconds),
    )
    .addOption(jsonOption('errors, and with --kubeconfig events and workflows, as JSON lines'))
    .action(
      run<[string | undefined], JsonOption & ServeOptions>(async (app, o) =>
        (await commands.serve()).cmdServe(io, app, o, stopSignal(), cloud),
      ),
    );

  const token = program.command('token').description("the API's bearer tokens, one per tenant (or the operator's)");
  token
    .command('issue')
    .description('issue a token; its text is printed once')
    .argument('<name>', 'what the token is for, e.g. acme-dashboard')
    .option('--tenant <tenant>', 'the tenant it speaks for: it sees and changes only that tenant’s applications')
    .option('--operator', 'an operator token: every tenant')
    .addOption(jsonOption())
    .action(
      run<[string], JsonOption & { tenant?: string; operator?: boolean }>(async (name, o) =>
        (await commands.token()).cmdTokenIssue(io, name, o, cloud),
      ),
    );
  token
    .command('list')
    .description('the tokens issued (never their secrets)')
    .addOption(jsonOption())
    .action(run<[], JsonOption>(async (o) => (await commands.token()).cmdTokenList(io, json(o), cloud)));
  token
    .command('revoke')
    .description('revoke a token by id or name')
    .argument('<token>', 'id or name')
    .addOption(jsonOption())
    .action(run<[string], JsonOption>(async (id, o) => (await commands.token()).cmdTokenRevoke(io, id, json(o), cloud)));

  program
    .command('reactions')
    .description("the controller's reactions: in force, waiting for approval, undone, expired, would-be (dry run)")
    .argument('<app>', 'descriptor, folder or application name')
    .option('--store <url>', "the deployment's broker, when it is not the recorded one")
    .option('--bus <url>', 'the bus beside it')
    .addOption(serverOption())
    .addOption(jsonOption())
    .action(
      run<[string], JsonOption & ReactionsOptions>(async (app, o) =>
        (await commands.reactions()).cmdReactions(io, app, { ...o, json: json(o) }, cloud),
      ),
    );

  for (const [op, what] of [
    ['approve', 'carry out a reaction that waits for approval'],
    ['undo', 'take a reaction back (its inverse is stored with it)'],
    ['keep', 'keep a reaction in force past its expiry'],
  ] as const)
    program
      .command(op)
      .description(`${what}; waits for the controller's answer`)
      .argument('<app>', 'descriptor, folder or application name')
      .argument('<reaction>', 'reaction id (r-...), as `flowtap reactions` lists them')
      .addOption(new Option('--timeout <seconds>', 'how long to wait for the controller').argParser(positiveSeconds).default(15))
      .addOption(serverOption())
      .addOption(jsonOption())
      .action(
        run<[string, string], JsonOption & ReactionsOptions>(async (app, id, o) =>
          (await commands.reactions()).cmdReactionOp(io, op, app, id, { ...o, json: json(o) }, cloud),
        ),
      );

  program
    .command('why')
    .description(
      'the provenance chain of a reaction, a notice or a connection: rows, notice, rule, decision, rules installed, confirmation',
    )
    .argument('<app>', 'descriptor, folder or application name')
    .argument('<id>', 'a reaction id (r-...), notice id (n-...) or connection uid')
    .option('--store <url>', "the deployment's broker, when it is not the recorded one")
    .option('--bus <url>', 'the bus beside it')
    .addOption(jsonOption())
    .action(
      run<[string, string], JsonOption & WhyOptions>(async (app, id, o) =>
        (await commands.why()).cmdWhy(io, app, id, { ...o, json: json(o) }, cloud),
      ),
    );

  program
    .command('down')
    .description("remove every namespace, link, process and rule the application's cloud made")
    .argument('<app>', 'descriptor, folder or application name')
    .addOption(jsonOption())
    .action(run<[string], JsonOption>(async (app, o) => (await commands.cloud()).cmdDown(io, app, json(o), cloud)));

  program
    .command('status')
    .description('what is running, and the firewall counters')
    .argument('<app>', 'descriptor, folder or application name')
    .addOption(jsonOption())
    .action(run<[string], JsonOption>(async (app, o) => (await commands.cloud()).cmdStatus(io, app, json(o), cloud)));

  program
    .command('notices')
    .description("notices raised by the running cloud's monitors")
    .argument('<app>', 'descriptor, folder or application name')
    .addOption(jsonOption('JSON lines'))
    .action(run<[string], JsonOption>(async (app, o) => (await commands.cloud()).cmdNotices(io, app, json(o), cloud)));

  for (const op of OPERATIONS) {
    program
      .command(op)
      .description(`${op} an instance`)
      .argument('<app>', 'descriptor, folder or application name')
      .argument('<instance>')
      .addOption(jsonOption())
      .action(
        run<[string, string], JsonOption>(async (app, instance, o) =>
          (await commands.cloud()).cmdOperation(io, op, app, instance, undefined, json(o), cloud),
        ),
      );
  }

  program
    .command('move')
    .description('move an instance to another node (new address; rules and taps follow its port)')
    .argument('<app>', 'descriptor, folder or application name')
    .argument('<instance>')
    .argument('<node>')
    .addOption(jsonOption())
    .action(
      run<[string, string, string], JsonOption>(async (app, instance, node, o) =>
        (await commands.cloud()).cmdOperation(io, 'move', app, instance, node, json(o), cloud),
      ),
    );

  program
    .command('restrict')
    .description('limit or drop a source outside the application on every node (the same --id again replaces it)')
    .argument('<app>', 'descriptor, folder or application name')
    .requiredOption('--source <cidr>', 'an IPv4 or IPv6 address or CIDR prefix outside the application')
    .option('--port <n>', 'only traffic to this destination port (tcp)')
    .option('--rate <n>', 'allow this many new connections per second instead of dropping everything (with --burst)')
    .option('--burst <n>', 'with --rate: how many connections at once on top of it')
    .requiredOption('--id <id>', 'the restriction id (letters, digits, _ . : @ -), for `flowtap unrestrict`')
    .addOption(jsonOption())
    .action(
      run<[string], Omit<RestrictOptions, 'json'> & JsonOption>(async (app, o) =>
        (await commands.cloud()).cmdRestrict(io, app, { ...o, json: json(o) }, cloud),
      ),
    );

  program
    .command('unrestrict')
    .description('lift a restriction (an unknown id changes nothing)')
    .argument('<app>', 'descriptor, folder or application name')
    .argument('<id>')
    .addOption(jsonOption())
    .action(run<[string, string], JsonOption>(async (app, id, o) => (await commands.cloud()).cmdUnrestrict(io, app, id, json(o), cloud)));

  program
    .command('reconfigure')
    .description(
      'change a running deployment (descriptor read again, policies, mode, strategy, monitors down); through its controller when one runs; verified by the live probe',
    )
    .argument('<app>', 'descriptor, folder or application name')
    .addOption(policyOption())
    .option('--descriptor', 'the descriptor changed (requirements, policies in it): read it again')
    .option('--clear-policies', 'no monitoring policy at all')
    .addOption(modeOption().default(undefined))
    .addOption(strategyOption().default(undefined))
    .addOption(new Option('--monitors-down <list>', 'monitors to treat as down (comma list; "" for none)').argParser(commaList))
    .addOption(new Option('--timeout <seconds>', "how long to wait for the controller's verification").argParser(positiveSeconds))
    .addOption(jsonOption())
    .action(
      run<[string], JsonOption & ReconfigureOptions>(async (app, o) => (await commands.reconfigure()).cmdReconfigure(io, app, o, cloud)),
    );

  program
    .command('reconcile')
    .description("compare every node's rules in force with those applied, and put back what differs")
    .argument('<app>', 'descriptor, folder or application name')
    .addOption(jsonOption())
    .action(run<[string], JsonOption>(async (app, o) => (await commands.cloud()).cmdReconcile(io, app, json(o), cloud)));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    if (e.exitCode === 0) return 0;
    if (wantsJson) reportDiagnostics(io, true, [diag(usageCode(e), e.message.replace(/^error: /, ''))]);
    return EXIT_BAD_INPUT;
  }
  return code;
}

/** A bad option value is E_CLI_OPTION, like the checks that need the descriptor; the rest is usage. */
function usageCode(e: CommanderError): DiagCode {
  return e.code === 'commander.invalidArgument' ? CliCode.OPTION : CliCode.USAGE;
}
