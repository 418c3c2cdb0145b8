/**
 * Inline redirects on the data plane: tags, the monitor namespace's table, the node's return
 * chains and firewall rules; and (root) the real nft accepts all of it, with the verdict
 * commands a monitor sends, and lists it back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { unwrap } from '../../diagnostics/index.js';
import { inferFirewall, quarantine } from '../../firewall/index.js';
import { loadApp, planAddresses } from '../../model/index.js';
import { needsRoot } from '../../system/testing.js';
import { realSystem } from '../../system/index.js';
import { readCounters } from './apply.js';
import { renderNftFirewall } from './firewall.js';
import {
  inlineCommands,
  INLINE_TABLE,
  localMonitorPorts,
  monitorReturnPort,
  parseRedirectTag,
  redirectTag,
  renderInlineTable,
  RETURN_MARK,
  sequenceMark,
} from './inline.js';
import { NODE_UPLINKS } from '../node-interfaces.js';
import { renderNftTaps } from './taps.js';
import { tapOf, tapsAddressing, tapsApp } from './testing.js';

const bytes = (mac: string) => Uint8Array.from(mac.split(':').map((h) => parseInt(h, 16)));

test('a redirect tag carries the instance, the hook side and the failMode, and reads back', () => {
  assert.equal(redirectTag('02:66:74:00:01:0a', 'sent', 'closed'), '02:66:70:00:01:0a');
  assert.equal(redirectTag('02:66:74:00:01:0a', 'delivered', 'closed'), '02:66:71:00:01:0a');
  assert.equal(redirectTag('02:66:74:00:01:0A', 'sent', 'open'), '02:66:72:00:01:0a');
  assert.equal(redirectTag('02:66:74:00:01:0a', 'delivered', 'open'), '02:66:73:00:01:0a');
  for (const side of ['sent', 'delivered'] as const)
    for (const mode of ['open', 'closed'] as const)
      assert.deepEqual(parseRedirectTag(bytes(redirectTag('02:66:74:00:00:07', side, mode)), 0), { side, mode });
  assert.equal(parseRedirectTag(bytes('02:66:74:00:00:07'), 0), null, 'an instance address is no tag');
  assert.equal(parseRedirectTag(bytes('02:66:6d:00:00:07'), 0), null, 'nor a monitor address');
  assert.equal(parseRedirectTag(bytes('02:66:70:00'), 0), null, 'too short');
  assert.throws(() => redirectTag('not a mac', 'sent', 'open'));
});

test('return ports follow monitor ports and never take the instance or monitor port forms', () => {
  assert.equal(monitorReturnPort('fm0'), 'fr0');
  assert.equal(monitorReturnPort('fm1z'), 'fr1z');
  assert.equal(monitorReturnPort('mon-port-long-x'), 'r-mon-port-long');
  const addr = tapsAddressing();
  assert.deepEqual(localMonitorPorts(addr, 'n2'), [
    { monitor: 'm2', port: addr.monitors.m2.port, returnPort: monitorReturnPort(addr.monitors.m2.port) },
  ]);
});

test("the monitor namespace table: copies end, the fallback follows each frame's failMode bit, live verdicts in a safe order", () => {
  const t = renderInlineTable();
  assert.match(t, /^table netdev flowtap_inline\ndelete table netdev flowtap_inline\n/, 'an atomic replace');
  const taps = t.slice(t.indexOf('chain taps'), t.indexOf('chain live'));
  const order = [
    'hook ingress device "eth0"',
    'policy drop',
    '!= 02:66:70:00:00:00 counter drop',
    'iifname @alive counter jump live',
    '02:66:72:00:00:00 counter fwd to "eth1"',
    'counter drop comment "monitor not running',
  ];
  let at = 0;
  for (const piece of order) {
    const i = taps.indexOf(piece, at);
    assert.ok(i >= at, `${piece} in order`);
    at = i;
  }
  const live = t.slice(t.indexOf('chain live'));
  const blocked = live.indexOf('@blocked counter reject with tcp reset');
  const pure = live.indexOf('tcp doff 5 ip length 40 counter fwd to "eth1"');
  const free = live.indexOf('@free counter fwd to "eth1"');
  const pass = live.indexOf(
    'meta mark set tcp sequence ip saddr . tcp sport . ip daddr . tcp dport . meta mark @pass counter fwd to "eth1"',
  );
  const held = live.indexOf('counter drop comment "held until judged"');
  assert.ok(
    blocked > 0 && blocked < pure && pure < free && free < pass && pass < held,
    'a blocked connection gets its reset even for a bare ACK; held is last',
  );
  assert.equal((live.match(/tcp doff \d+ ip length \d+/g) ?? []).length, 11, 'every TCP header length without payload');
});

test('verdict commands: one line each, refused for anything but IPv4 addresses and ports', () => {
  const c = inlineCommands();
  const t = { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80 };
  assert.equal(c.block(t), 'add element netdev flowtap_inline blocked { 10.0.0.1 . 40000 . 10.0.0.2 . 80 }');
  assert.match(c.pass(t, 1001), /^add element netdev flowtap_inline pass \{ 10\.0\.0\.1 \. 40000 \. 10\.0\.0\.2 \. 80 \. 0x[0-9a-f]+ \}$/);
  assert.equal(
    c.free(t),
    'add element netdev flowtap_inline free { 10.0.0.1 . 40000 . 10.0.0.2 . 80 }; delete element netdev flowtap_inline free { 10.0.0.1 . 40000 . 10.0.0.2 . 80 }; add element netdev flowtap_inline free { 10.0.0.1 . 40000 . 10.0.0.2 . 80 }',
  );
  assert.equal(
    c.alive(2),
    'add element netdev flowtap_inline alive { "eth0" timeout 2s }; delete element netdev flowtap_inline alive { "eth0" }; add element netdev flowtap_inline alive { "eth0" timeout 2s }',
  );
  assert.equal(c.fallback(), 'flush set netdev flowtap_inline alive');
  for (const bad of [
    { ...t, src: '10.0.0.1; flush ruleset' },
    { ...t, dst: '::1' },
    { ...t, sport: 70000 },
    { ...t, dport: 1.5 },
  ])
    assert.throws(() => c.block(bad));
});

test('inline taps tag what they divert; egress chains let frames passed back through; return chains per local monitor', () => {
  const app = tapsApp();
  const addr = tapsAddressing(app);
  const web1 = addr.instances['web-1'];
  const contracts = [
    tapOf('r1', 'web-1', 'm1', 'tcp,tp_dst=80', 'redirect', { direction: 'both', options: { failMode: 'open' } }),
    tapOf('f1', 'web-1', 'm1', 'udp', 'forward', { direction: 'both' }),
    tapOf('r2', 'web-2', 'm1', 'tcp,tp_dst=5432', 'redirect', { direction: 'egress' }),
    tapOf('r3', 'web-2', 'm2', 'tcp,tp_dst=443', 'redirect', { direction: 'egress' }),
  ];
  const r = renderNftTaps(contracts, app, addr, 'n1', { inline: true });
  assert.ok(r.ok);
  const text = r.value;
  const chain = (name: string) => text.slice(text.indexOf(`chain ${name} {`), text.indexOf('  }', text.indexOf(`chain ${name} {`)));
  const eg = chain(`tap_eg_${web1.port}`);
  const inn = chain(`tap_in_${web1.port}`);
  assert.ok(
    eg.includes(`counter ether saddr set ${redirectTag(web1.mac, 'sent', 'open')} fwd to "${addr.monitors.m1.port}" comment "r1"`),
    eg,
  );
  assert.ok(inn.includes(`counter ether saddr set ${redirectTag(web1.mac, 'delivered', 'open')} fwd to`), inn);
  assert.ok(eg.includes('dup to') && !/ether saddr set [^\n]* dup to/.test(text), 'copies stay untagged');
  assert.ok(!eg.includes(`meta mark 0x${RETURN_MARK.toString(16)}`), 'nothing comes back through an ingress hook');
  assert.match(
    inn.split('\n')[2],
    new RegExp(`^\\s+meta mark 0x${RETURN_MARK.toString(16)} counter return`),
    'the first rule of an egress chain',
  );
  const web2 = addr.instances['web-2'];
  assert.ok(
    chain(`tap_eg_${web2.port}`).includes(`ether saddr set ${redirectTag(web2.mac, 'sent', 'closed')} fwd to`),
    'no failMode: closed',
  );
  assert.match(
    chain(`tap_eg_${web2.port}`),
    /# inline: m2 is on another node; [^\n]*comes back by its tap tunnel \(queue mode\)\n\s+[^\n]*fwd to "tt-/,
    'a redirect to another node says how it comes back',
  );
  // m2 (on n2) takes what web-2 sends: passed frames and resets come back by one tunnel.
  const tunnel = chain(`ret_tt_${addr.monitors.m2.port}`);
  assert.ok(tunnel.includes(`device "tt-${addr.monitors.m2.port}"`) && tunnel.includes('policy drop'), tunnel);
  assert.ok(
    tunnel.includes('meta pkttype set host accept comment "passed by m2, sent by an instance'),
    'passed frames enter the forward path',
  );
  assert.ok(tunnel.includes(`${redirectTag(web2.mac, 'sent', 'closed')} : ${web2.mac}`), 'a reset to the sender gets its address back');
  assert.ok(tunnel.indexOf('ether saddr') < tunnel.indexOf('ether daddr'), 'one chain: passed frames, then resets');
  assert.ok(!text.includes('rst_tt_'), 'no separate reset chain on a tunnel');

  const ret = chain(`ret_${monitorReturnPort(addr.monitors.m1.port)}`);
  assert.ok(ret.includes(`device "${monitorReturnPort(addr.monitors.m1.port)}"`) && ret.includes('policy drop'));
  assert.ok(ret.includes(`${redirectTag(web1.mac, 'delivered', 'closed')} : "${web1.port}"`), 'back out of the port it was going to');
  assert.ok(ret.includes('meta pkttype set host accept'), 'sent frames enter the forward path');
  const rst = chain(`rst_${addr.monitors.m1.port}`);
  assert.ok(rst.includes(`${redirectTag(web2.mac, 'sent', 'closed')} : ${web2.mac}`), 'a reset to the sender gets its address back');
  assert.ok(!text.includes(`ret_${monitorReturnPort(addr.monitors.m2.port)}`), 'm2 lives on n2');
  assert.ok(!text.includes(addr.instances['db-1'].port), 'db-1 lives on n2');

  const plain = renderNftTaps(contracts, app, addr, 'n1');
  assert.ok(plain.ok && !plain.value.includes('ether saddr set') && !plain.value.includes('chain ret_'), 'without inline: as before');
  const broken = { ...addr, instances: { ...addr.instances, 'web-1': { ...web1, mac: 'zz' } } };
  const bad = renderNftTaps(contracts, app, broken, 'n1', { inline: true });
  assert.ok(!bad.ok && bad.errors.some((e) => /no valid MAC address/.test(e.message)));
});

test('inline firewall: a frame sent by an instance and passed back gets its egress chain, picked by its tag; quarantine holds', () => {
  const r = loadApp('examples/dvd-rental/app.yaml');
  assert.ok(r.ok);
  const app = r.value;
  const addr = unwrap(planAddresses(app));
  const mons = localMonitorPorts(addr, 'node2');
  assert.ok(mons.length > 0);
  const db = addr.instances['db-0'];
  const rets = mons.map((m) => `"${m.returnPort}"`);
  const ret = rets.length === 1 ? rets[0] : `{ ${rets.join(', ')} }`;
  const text = unwrap(
    renderNftFirewall(quarantine(inferFirewall(app), ['db-0']), app, addr, 'node2', {
      mode: 'enforce',
      uplinks: NODE_UPLINKS,
      inlineMonitors: mons,
    }),
  );
  const tag = redirectTag(db.mac, 'sent', 'closed');
  const fwd = text.slice(text.indexOf('chain forward'), text.indexOf('chain quarantine'));
  assert.ok(fwd.includes(`${tag} : jump eg_db_0`), fwd);
  const quarantined = text.slice(text.indexOf('chain quarantine'), text.indexOf('chain input'));
  assert.ok(
    quarantined.includes(`ether saddr & ff:ff:fd:ff:ff:ff ${tag} counter drop comment "quarantine (passed back by a monitor)"`),
    quarantined,
  );
  const jump = fwd.indexOf('jump quarantine');
  assert.ok(jump > 0 && jump < fwd.indexOf('ct state established'), 'before established traffic, like the port quarantine');
  const vmap = fwd.indexOf(`iifname ${ret} ether saddr & ff:ff:fd:ff:ff:ff vmap`);
  assert.ok(vmap > fwd.indexOf('iifname vmap') && vmap < fwd.indexOf('oifname vmap'), 'egress before ingress');
  assert.ok(fwd.includes(`oifname { "vx-ft", "up-ft" } counter accept comment "egress checked (passed back by a monitor)`));
  const input = text.slice(text.indexOf('chain input'));
  assert.ok(
    rets.every((x) => input.includes(x)) && input.includes(`"${mons[0].port}"`),
    'the node is not reachable through a monitor either',
  );
  const plain = unwrap(renderNftFirewall(inferFirewall(app), app, addr, 'node2', { mode: 'enforce', uplinks: NODE_UPLINKS }));
  assert.ok(!plain.includes('ether saddr'), 'without inline monitors: as before');
});

function sh(argv: string[], input?: string): string {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

describe('nft takes the inline rulesets and verdicts (root, network namespaces)', { skip: needsRoot() }, () => {
  const NODE = `ftin${process.pid}`;
  const MON = `ftim${process.pid}`;
  const app = tapsApp();
  const addr = tapsAddressing(app);
  before(() => {
    sh(['ip', 'netns', 'add', NODE]);
    sh(['ip', 'netns', 'add', MON]);
    const devices = [
      ...Object.values(addr.instances)
        .filter((a) => a.node === 'n1')
        .map((a) => a.port),
      ...NODE_UPLINKS,
    ];
    for (const d of devices) sh(['ip', '-n', NODE, 'link', 'add', d, 'type', 'veth']);
    for (const m of localMonitorPorts(addr, 'n1')) {
      sh(['ip', 'link', 'add', m.port, 'netns', NODE, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', MON]);
      sh(['ip', 'link', 'add', m.returnPort, 'netns', NODE, 'type', 'veth', 'peer', 'name', 'eth1', 'netns', MON]);
    }
  });
  after(() => {
    spawnSync('ip', ['netns', 'del', NODE]);
    spawnSync('ip', ['netns', 'del', MON]);
  });

  test("the node's inline taps and firewall apply together and list back with their counters", async () => {
    const contracts = [
      tapOf('r1', 'web-1', 'm1', 'tcp,tp_dst=80', 'redirect', { direction: 'both', options: { failMode: 'open' } }),
      tapOf('r2', 'web-2', 'm2', 'tcp,tp_dst=5432', 'redirect', { direction: 'both' }),
      tapOf('f1', 'web-1', 'm1', 'udp', 'forward', { direction: 'both' }),
    ];
    const taps = renderNftTaps(contracts, app, addr, 'n1', { inline: true });
    assert.ok(taps.ok);
    const mons = localMonitorPorts(addr, 'n1');
    const fw = unwrap(
      renderNftFirewall(quarantine(inferFirewall(app), ['web-2']), app, addr, 'n1', {
        mode: 'enforce',
        uplinks: NODE_UPLINKS,
        inlineMonitors: mons,
      }),
    );
    // m2's tunnel device does not exist here; the cross-node redirect is rendered against it.
    sh(['ip', '-n', NODE, 'link', 'add', `tt-${addr.monitors.m2.port}`, 'type', 'veth']);
    sh(['ip', 'netns', 'exec', NODE, 'nft', '-f', '-'], `${fw}\n${taps.value}`);
    for (const t of [
      { family: 'netdev' as const, name: 'flowtap_taps' },
      { family: 'inet' as const, name: 'flowtap' },
    ]) {
      const c = await readCounters(realSystem, NODE, t);
      assert.ok(c.ok, `${t.name} lists back as JSON`);
    }
    const c = await readCounters(realSystem, NODE, { family: 'netdev', name: 'flowtap_taps' });
    assert.ok(c.ok && c.value.some((x) => x.chain.startsWith('ret_') && /passed by m1/.test(x.comment)));
  });

  test("the monitor namespace's table applies, takes every verdict command through nft -i, and lists back", async () => {
    sh(['ip', 'netns', 'exec', MON, 'nft', renderInlineTable()]);
    const c = inlineCommands();
    const t = { src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 80 };
    const lines = [c.alive(2), c.alive(2), c.free(t), c.free(t), c.pass(t, 0xfffffff0), c.block(t), c.fallback(), c.alive(3)];
    const r = spawnSync('ip', ['netns', 'exec', MON, 'nft', '-i'], { input: lines.join('\n') + '\n', encoding: 'utf8' });
    assert.equal(r.stderr, '', 'no command refused');
    const listed = sh(['ip', 'netns', 'exec', MON, 'nft', 'list', 'table', 'netdev', INLINE_TABLE]);
    assert.match(listed, /"eth0" timeout 3s/);
    assert.ok(listed.includes(`10.0.0.1 . 40000 . 10.0.0.2 . 80 . 0x${sequenceMark(0xfffffff0).toString(16).padStart(8, '0')}`), listed);
    assert.match(listed, /set blocked \{[^}]*10\.0\.0\.1 \. 40000 \. 10\.0\.0\.2 \. 80/);
    const json = await readCounters(realSystem, MON, { family: 'netdev', name: INLINE_TABLE });
    assert.ok(json.ok && json.value.some((x) => x.comment === 'held until judged'));
    const bad = spawnSync('ip', ['netns', 'exec', MON, 'nft', '-i'], {
      input: 'add element netdev flowtap_inline nosuch { 1 }\n',
      encoding: 'utf8',
    });
    assert.match(bad.stderr, /^Error:/m, 'and nft does refuse a bad one');
  });
});
