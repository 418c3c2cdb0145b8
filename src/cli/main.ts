import { Command, CommanderError } from 'commander';
import { EXIT_BAD_INPUT, processIo, runCommand, type Io } from './exit.js';
import { cmdValidate } from './cmd-validate.js';
import { cmdFirewall } from './cmd-firewall.js';
import { cmdVerify } from './cmd-verify.js';
import { cmdConnlist } from './cmd-connlist.js';
import { cmdExplain } from './cmd-explain.js';
import { cmdPolicyEval } from './cmd-policy-eval.js';
import { cmdDown, cmdNotices, cmdOperation, cmdStatus, cmdUp } from './cmd-cloud.js';
import { cmdExplainTap, cmdTaps } from './cmd-taps.js';
import { cmdMonitor } from './cmd-monitor.js';
import { cmdSimulate } from './cmd-simulate.js';

/** Builds the command tree; every action stores its exit code instead of exiting, so tests can call main(). */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const program = new Command('flowtap')
    .description('security-as-a-service for microservice applications')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  const json = (o: { json?: boolean }) => !!o.json;
  const act = (fn: (...a: any[]) => number | Promise<number>) => async (...a: any[]) => {
    const opts = a[a.length - 2] as { json?: boolean };
    code = await runCommand(io, json(opts), () => fn(...a));
  };

  program
    .command('validate')
    .argument('<app>', 'descriptor file or folder with app.yaml')
    .option('--json', 'machine-readable output')
    .description('check an application descriptor')
    .action(act((app: string, o) => cmdValidate(io, app, json(o))));

  program
    .command('firewall')
    .argument('<app>')
    .option('--format <fmt>', 'json | nft | k8s', 'json')
    .option('--node <node>', 'only this node (nft)')
    .option('--mode <mode>', 'enforce | audit (nft)', 'enforce')
    .option('--json', 'same as --format json')
    .description('infer least-privilege firewall rules')
    .action(act((app: string, o) => cmdFirewall(io, app, { format: o.format, node: o.node, mode: o.mode, json: json(o) })));

  program
    .command('verify')
    .argument('<app>')
    .option('--rules <file>', 'verify this (hand-edited) ruleset instead of the inferred one')
    .option('--live', 'probe the running cloud with real TCP connections')
    .option('--json', 'machine-readable output')
    .description('check that the rules allow exactly the required connections')
    .action(act((app: string, o) => cmdVerify(io, app, { rules: o.rules, live: !!o.live, json: json(o) })));

  program
    .command('connlist')
    .argument('<dir>', 'folder of Kubernetes manifests')
    .option('--format <fmt>', 'txt | json', 'txt')
    .option('--json', 'same as --format json')
    .description('connectivity allowed by Kubernetes NetworkPolicies')
    .action(act((dir: string, o) => cmdConnlist(io, dir, { format: json(o) ? 'json' : o.format })));

  program
    .command('explain')
    .argument('<app>')
    .requiredOption('--from <service>', 'source service or "external"')
    .requiredOption('--to <service:port>', 'destination service and port (name or number)')
    .option('--rules <file>', 'explain against this ruleset')
    .option('--json', 'machine-readable output')
    .description('why a connection is allowed or denied')
    .action(act((app: string, o) => cmdExplain(io, app, { from: o.from, to: o.to, rules: o.rules, json: json(o) })));

  const policy = program.command('policy').description('Datalog policies');
  policy
    .command('eval')
    .argument('<file>', 'Datalog program')
    .option('--facts <app>', 'add the facts of this application')
    .option('--query <pred>', 'print only this predicate')
    .option('--json', 'machine-readable output')
    .description('evaluate a Datalog program')
    .action(act((file: string, o) => cmdPolicyEval(io, file, { facts: o.facts, query: o.query, json: json(o) })));

  const collect = (v: string, prev: string[]) => [...prev, v];
  program
    .command('simulate')
    .argument('<app>')
    .option('--policy <file>', 'monitoring policy (Datalog); repeatable', collect, [])
    .option('--strategy <s>', 'per-app | per-node', 'per-node')
    .requiredOption('--packet <spec>', "a packet in flow syntax, e.g. 'tcp,nw_src=10.77.0.5,nw_dst=10.77.1.4,tp_dst=5432'")
    .option('--from <instance>', 'where the packet enters: an instance, or "external"', 'external')
    .option('--established', 'the packet belongs to an established connection')
    .option('--inline-verdict <v>', 'what an inline monitor does with a redirected packet: pass | block | monitor-down', 'pass')
    .option('--json', 'machine-readable output')
    .description('where a packet goes through the compiled firewall and taps (simulated datapath, no root)')
    .action(act((app: string, o) =>
      cmdSimulate(io, app, { policy: o.policy, strategy: o.strategy, packet: o.packet, from: o.from, established: !!o.established, inlineVerdict: o.inlineVerdict, json: json(o) }),
    ));
  program
    .command('monitor')
    .option('--pcap <file>', 'read a pcap or pcapng file')
    .option('--iface <if>', 'capture live on this interface (a monitor port)')
    .option('--app <app>', 'application descriptor: enables the connection, request and integrity policies')
    .option('--addressing <file>', 'addresses of the instances (state JSON); default: the planned ones')
    .option('--log-dir <dir>', 'write conn.log, http.log, sql.log, nats.log, notice.log, weird.log here')
    .option('--format <fmt>', 'tsv | json', 'tsv')
    .option('--duration <s>', 'live capture: stop after this many seconds')
    .option('--fail-on-notice', 'exit 1 when any notice was raised')
    .option('--inline', 'stand in the path of redirected flows: pass or block each request (in a monitor namespace)')
    .option('--observes <instances>', "comma-separated instances whose incoming requests this monitor's taps deliver (default: all)")
    .option('--json', 'notices as JSON lines')
    .description('the Zeek-like security monitor')
    .action(act((o) =>
      cmdMonitor(io, {
        pcap: o.pcap, iface: o.iface, app: o.app, addressing: o.addressing, logDir: o.logDir, format: o.format,
        duration: o.duration, failOnNotice: !!o.failOnNotice, observes: o.observes, inline: !!o.inline, json: json(o),
      }),
    ));
  program
    .command('taps')
    .argument('<app>')
    .option('--policy <file>', 'monitoring policy (Datalog); repeatable', collect, [])
    .option('--strategy <s>', 'monitor placement: per-app | per-node', 'per-node')
    .option('--format <fmt>', 'text | json | nft | ovs', 'text')
    .option('--loads <file>', 'JSON: instance -> expected Mbit/s')
    .option('--previous <file>', 're-place from this earlier `taps --json` output, moving as few flows as possible')
    .option('--json', 'same as --format json')
    .description('compile monitoring policies into FlowTap contracts (ftc) and place them on monitors')
    .action(act((app: string, o) =>
      cmdTaps(io, app, { policy: o.policy, strategy: o.strategy, format: o.format, loads: o.loads, previous: o.previous, json: json(o) }),
    ));
  program
    .command('explain-tap')
    .argument('<app>')
    .option('--policy <file>', 'monitoring policy (Datalog); repeatable', collect, [])
    .option('--strategy <s>', 'per-app | per-node', 'per-node')
    .requiredOption('--packet <spec>', "a packet in flow syntax, e.g. 'tcp,nw_src=10.77.0.2,tp_dst=5432'")
    .option('--json', 'machine-readable output')
    .description('which policy rule produced which contract, and which rendered rule matches a packet (dry run)')
    .action(act((app: string, o) => cmdExplainTap(io, app, { policy: o.policy, strategy: o.strategy, packet: o.packet, json: json(o) })));
  program
    .command('up')
    .argument('<app>')
    .option('--policy <file>', 'monitoring policy (Datalog); repeatable', collect, [])
    .option('--mode <mode>', 'enforce | audit', 'enforce')
    .option('--strategy <s>', 'monitor placement: per-app | per-node', 'per-node')
    .option('--json', 'machine-readable output')
    .description('deploy the application on this machine (network namespaces) with its firewall and taps')
    .action(act((app: string, o) => cmdUp(io, app, { policy: o.policy, mode: o.mode, strategy: o.strategy, json: json(o) })));
  program
    .command('down')
    .argument('<app>', 'descriptor, folder or application name')
    .option('--json', 'machine-readable output')
    .description('remove every namespace, link, process and rule the application\'s cloud made')
    .action(act((app: string, o) => cmdDown(io, app, json(o))));
  program
    .command('status')
    .argument('<app>', 'descriptor, folder or application name')
    .option('--json', 'machine-readable output')
    .description('what is running, and the firewall counters')
    .action(act((app: string, o) => cmdStatus(io, app, json(o))));
  program
    .command('notices')
    .argument('<app>', 'descriptor, folder or application name')
    .option('--json', 'JSON lines')
    .description("notices raised by the running cloud's monitors")
    .action(act((app: string, o) => cmdNotices(io, app, json(o))));
  for (const op of ['isolate', 'release', 'terminate', 'redeploy'] as const) {
    program
      .command(op)
      .argument('<app>')
      .argument('<instance>')
      .option('--json', 'machine-readable output')
      .description(`${op} an instance`)
      .action(act((app: string, inst: string) => cmdOperation(io, op, app, inst)));
  }
  program
    .command('move')
    .argument('<app>')
    .argument('<instance>')
    .argument('<node>')
    .option('--json', 'machine-readable output')
    .description('move an instance to another node (new address; rules and taps follow its port)')
    .action(act((app: string, inst: string, node: string) => cmdOperation(io, 'move', app, inst, node)));

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    throw e;
  }
  return code;
}
