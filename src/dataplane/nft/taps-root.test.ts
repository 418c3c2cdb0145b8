/**
 * The rendered tap tables and every field translation against the real nft and kernel: in a
 * throwaway network namespace whose veth devices carry the names of the node's ports (netdev
 * chains and `dup`/`fwd` need existing devices), each script must pass `nft -c`, apply, and list
 * back as JSON with its contract ids (some valid rules crash nft 1.0.6's listing, which would
 * break reading counters). A broken script must be rejected, proving the check is real.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { needsRoot } from '../../system/testing.js';
import type { FlowTap } from '../../flowtap/index.js';
import { flowToNft } from './flow.js';
import { realSystem } from '../../system/index.js';
import { applyNft, atomicScript, checkNft, deleteTables, readCounters, type OwnedTable } from './apply.js';
import { tapTunnelIf } from './inline.js';
import { TAPS_TABLE, renderNftTaps } from './taps.js';
import { flowOf, tapOf, tapsAddressing, tapsApp, TRANSLATIONS } from './testing.js';

const skip = needsRoot();
const NS = `ftnt${process.pid}`;
const TAPS: OwnedTable = { family: 'netdev', name: TAPS_TABLE };

const exec = realSystem;

function sh(argv: string[]): void {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
}

const app = tapsApp();
const addr = tapsAddressing(app);

function rendered(contracts: FlowTap[], node: string, downMonitors: string[] = []): string {
  const r = renderNftTaps(contracts, app, addr, node, { downMonitors });
  if (!r.ok) assert.fail(r.errors.map((e) => e.message).join('\n'));
  return r.value;
}

/** Checks, applies (as an atomic replace), lists back and removes a table; returns its rule comments. */
async function roundTrip(script: string, table: OwnedTable): Promise<string[]> {
  const checked = await checkNft(exec, NS, script);
  assert.ok(
    checked.ok,
    `nft -c rejected:\n${checked.ok ? '' : checked.errors.map((e) => `${e.loc?.line}: ${e.message}`).join('\n')}\n${script}`,
  );
  const applied = await applyNft(exec, NS, atomicScript([table], [script]));
  assert.ok(applied.ok, `nft -f rejected:\n${applied.ok ? '' : applied.errors.map((e) => e.message).join('\n')}`);
  const counters = await readCounters(exec, NS, table);
  await deleteTables(exec, NS, [table]);
  assert.ok(counters.ok, `nft -j list failed: ${counters.ok ? '' : counters.errors[0].message}`);
  return counters.value.map((c) => c.comment);
}

const CONTRACTS: FlowTap[] = [
  tapOf('f-web1', 'web-1', 'm1', 'tcp,nw_dst=10.77.0.0/16,tp_dst=8000-8100', 'forward', {
    direction: 'both',
    options: { sample: { every: 8, unit: 'flow' } },
  }),
  tapOf('f-web1-remote', 'web-1', 'm2', 'udp', 'forward', { options: { budget: { rate: 1_000_000, unit: 'bps' } } }),
  tapOf('r-web1', 'web-1', 'm1', 'tcp,tp_dst=5432', 'redirect', { options: { failMode: 'open', budget: { rate: 2.5, unit: 'pps' } } }),
  tapOf('r-web2', 'web-2', 'm2', 'ip', 'redirect', {
    direction: 'ingress',
    options: { failMode: 'closed', sample: { every: 3, unit: 'packet' } },
  }),
  tapOf('f-web2', 'web-2', 'm1', 'arp,arp_op=1', 'forward', { direction: 'ingress' }),
  tapOf('f-db1', 'db-1', 'm1', 'icmp,icmp_type=8', 'forward', { direction: 'both' }),
  tapOf('r-db1', 'db-1', 'm2', 'http', 'redirect'),
];

describe('nft accepts the rendered taps (root, network namespace)', { skip }, () => {
  before(() => {
    sh(['ip', 'netns', 'add', NS]);
    const devices = [
      ...Object.values(addr.instances).map((a) => a.port),
      ...Object.values(addr.monitors).flatMap((m) => [m.port, tapTunnelIf(m.port)]),
    ];
    // veth rather than dummy: the dummy module is not always available; the peer gets a kernel-chosen name.
    for (const d of devices) sh(['ip', '-n', NS, 'link', 'add', d, 'type', 'veth']);
  });
  after(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('each node script, with monitors up and down, checks, applies and lists back', async () => {
    for (const node of ['n1', 'n2']) {
      for (const down of [[], ['m1'], ['m1', 'm2']]) {
        const script = rendered(CONTRACTS, node, down);
        const comments = await roundTrip(script, TAPS);
        const expected = [...script.matchAll(/comment "([^"]*)"/g)].map((m) => m[1]);
        assert.ok(expected.length > 0, `${node} down=${down}: no rules rendered`);
        assert.deepEqual(comments.sort(), expected.sort(), `${node} down=${down}`);
      }
    }
    assert.deepEqual(await roundTrip(rendered([], 'n1'), TAPS), []);
  });

  it('every translated field expression checks, applies and lists back', async () => {
    const port = addr.instances['web-1'].port;
    const lines = TRANSLATIONS.map(([flow], i) => {
      const r = flowToNft(flowOf(flow), 'nftables-netdev');
      assert.ok(r.ok, flow);
      return `    ${r.value ? r.value + ' ' : ''}counter comment "e${i}"`;
    });
    const table: OwnedTable = { family: 'netdev', name: 'flowtap_exprs' };
    for (const hook of ['ingress', 'egress']) {
      const script = [
        `table netdev ${table.name} {`,
        '  chain c {',
        `    type filter hook ${hook} device "${port}" priority 0;`,
        ...lines,
        '  }',
        '}',
        '',
      ].join('\n');
      const comments = await roundTrip(script, table);
      assert.equal(comments.length, TRANSLATIONS.length, hook);
    }
  });

  it('a budget counts what is over it: every packet the tap matches is either copied or counted over budget', async () => {
    const port = addr.instances['web-1'].port;
    const monitor = addr.monitors.m1.port;
    const peerOf = (dev: string) => {
      const r = spawnSync('ip', ['-n', NS, '-j', 'link', 'show', dev], { encoding: 'utf8' });
      return (JSON.parse(r.stdout) as { link: string }[])[0].link;
    };
    const peer = peerOf(port);
    for (const d of [port, peer, monitor, peerOf(monitor)]) sh(['ip', '-n', NS, 'link', 'set', d, 'up']);
    sh(['ip', '-n', NS, 'addr', 'add', '10.99.0.1/24', 'dev', peer]);
    sh(['ip', '-n', NS, 'neigh', 'replace', '10.99.0.2', 'lladdr', '02:00:00:00:00:02', 'dev', peer, 'nud', 'permanent']);
    // web-1 sends from its port's peer: its frames enter the node at the port's ingress, where the egress tap hooks.
    const contract = tapOf('budgeted', 'web-1', 'm1', 'icmp', 'forward', { options: { budget: { rate: 5, unit: 'pps' } } });
    const applied = await applyNft(exec, NS, atomicScript([TAPS], [rendered([contract], 'n1')]));
    assert.ok(applied.ok, applied.ok ? '' : applied.errors.map((e) => e.message).join('\n'));
    const SENT = 40;
    spawnSync('ip', ['netns', 'exec', NS, 'ping', '-q', '-c', String(SENT), '-i', '0.002', '-W', '1', '10.99.0.2']);
    const counters = await readCounters(exec, NS, TAPS);
    await deleteTables(exec, NS, [TAPS]);
    assert.ok(counters.ok);
    const packets = (comment: string) => counters.value.find((c) => c.comment === comment)?.packets ?? -1;
    const copied = packets('budgeted');
    const over = packets('budgeted over-budget');
    assert.equal(copied + over, SENT, `copied ${copied}, over budget ${over}`);
    // nft's limit starts with a burst of 5: 40 pings in under a tenth of a second leave most over budget.
    assert.ok(copied >= 1 && over >= SENT - 10, `copied ${copied}, over budget ${over}`);
  });

  it('nft -c rejects broken scripts: bad syntax and a monitor device that does not exist', async () => {
    const good = rendered(CONTRACTS, 'n1');
    assert.ok((await checkNft(exec, NS, good)).ok);
    const badSyntax = good.replace('ip daddr 10.77.0.0/16', 'ip daddr 10.77.0.0/33');
    assert.notEqual(badSyntax, good);
    const r1 = await checkNft(exec, NS, badSyntax);
    assert.equal(r1.ok, false);
    if (!r1.ok) assert.equal(r1.errors[0].code, 'E_NFT_REJECTED');
    const noDevice = good.replace(`dup to "${addr.monitors.m1.port}"`, 'dup to "nosuch0"');
    assert.notEqual(noDevice, good);
    const r2 = await checkNft(exec, NS, noDevice);
    assert.equal(r2.ok, false);
    if (!r2.ok) assert.match(r2.errors.map((e) => e.message).join('\n'), /Interface does not exist/);
  });
});
