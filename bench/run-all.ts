/**
 * Runs every benchmark in one process and prints their tables. Each bench compares against
 * a baseline measured in the same run, because these machines are noisy.
 * `npm run bench` (add `-- NAME ...` to pick some: datalog firewall placement decode http-parse startup ...).
 */
const BENCHES: Record<string, () => Promise<{ run(): Promise<string[]> }>> = {
  datalog: () => import('./datalog.js'),
  firewall: () => import('./firewall.js'),
  placement: () => import('./placement.js'),
  ftc: () => import('./ftc.js'),
  simulate: () => import('./simulate.js'),
  decode: () => import('./decode.js'),
  'http-parse': () => import('./http-parse.js'),
  // flowtap monitor with the dvd-rental model beside tshark on a generated capture, both spawned (about two minutes).
  monitor: () => import('./monitor.js'),
  detect: () => import('./detect.js'),
  // SQLite, PostgreSQL and JetStream ingest and a query over 10M records (a few minutes;
  // PostgreSQL and JetStream need scripts/broker-servers.sh, else they are skipped).
  broker: () => import('./broker.js'),
  // Needs root: the node agents' CPU per level on dvd-rental under load, then on a synthetic node (about seven minutes).
  agent: () => import('./agent.js'),
  startup: () => import('./startup.js'),
  // Needs wrk: API latency under load over 200,000 records, and SSE fan-out to 100 clients (about three minutes).
  api: () => import('./api.js'),
  // Needs root: a real cloud on nftables, then one on Open vSwitch (skipped unless scripts/ovs.sh started it), iperf3 and wrk through each, flowtap's monitor reading the copies (about fifteen minutes).
  dataplane: () => import('./dataplane.js'),
  // Needs root: a quarantine and a source restriction at 1,000 instances, incremental vs full apply (about a minute).
  'reaction-apply': () => import('./reaction-apply.js'),
  // Needs root and Open vSwitch: a quarantine on the node of a 1,000-instance cloud, incremental bundle vs replace-flows.
  'ovs-apply': () => import('./ovs-apply.js'),
  // Needs root and NATS (scripts/broker-servers.sh): 50 attacks on a live cloud, first packet to the quarantine rule in force (about two minutes).
  containment: () => import('./containment.js'),
  // flowtap connlist on generated clusters of 500 to 5,000 pods, the ruleset analysis as baseline (about a minute and a half).
  connlist: () => import('./connlist.js'),
  // The Kubernetes adapter against the stand-in API server: watch events handled into the model, a bare client-node Watch as baseline (about a minute).
  kubernetes: () => import('./kubernetes.js'),
  // Needs root and the netfilter-queue addon: wrk through an inline HTTP redirect and pgbench through an inline PostgreSQL one, judged per packet, against the same paths without the monitor in line and the queue path's floors (about ten minutes).
  inline: () => import('./inline.js'),
};

const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(BENCHES)) {
  const load = BENCHES[name];
  if (!load) {
    console.error(`unknown bench "${name}"; have: ${Object.keys(BENCHES).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`== ${name}`);
  for (const line of await (await load()).run()) console.log(line);
}
