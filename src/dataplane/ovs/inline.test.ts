import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../../diagnostics/index.js';
import { redirectTag, returnChainName, returnComment, TAG_KIND_MASK } from '../nft/index.js';
import { backendFixture, suiteDesired } from '../testing.js';
import { flowText, type OvsFlow } from './flows.js';
import { returnOfportOf, routerMac } from './layout.js';
import { renderOvsNode } from './render.js';

const f = backendFixture();
const mac = (i: string) => f.addressing.instances[i].mac;
const ROUTER = routerMac(f.addressing.nodes[f.node].index);
const flowsOf = (d = suiteDesired(f)) => unwrap(renderOvsNode(d)).flows;
const texts = (fl: OvsFlow[]) => fl.map(flowText);
/** A flow's text without its cookie, as tests spell it. */
const bare = (x: OvsFlow) => flowText(x).replace(/cookie=\w+,/, '');
const kind = (i: string, side: 'sent' | 'delivered') => `${redirectTag(mac(i), side, 'closed')}/${TAG_KIND_MASK}`;

test('return ports have numbers of their own, derived from the monitor port', () => {
  assert.deepEqual(returnOfportOf('fm0'), { ok: true, value: 35000 });
  assert.deepEqual(returnOfportOf('fm1'), { ok: true, value: 35001 });
  const bad = returnOfportOf('ft1');
  assert.ok(!bad.ok && bad.errors[0].code === 'E_OVS_PORT' && bad.errors[0].message.includes('ft1'));
});

test('an inline redirect writes the redirect tag after the copies; a plain one diverts the frame as it is', () => {
  const tag = redirectTag(mac('api-1'), 'sent', 'closed');
  const t = flowsOf()
    .filter((x) => x.table === 10 && x.priority > 0)
    .map(bare);
  assert.ok(t.includes(`table=10,priority=100,udp,in_port=101,tp_dst=5000,actions=mod_dl_src:${tag},output:33001`), t.join('\n'));
  const plain = flowsOf(suiteDesired(f, {}, { inline: false })).map(bare);
  assert.ok(plain.includes('table=10,priority=100,udp,in_port=101,tp_dst=5000,actions=output:33001'));
  assert.ok(!plain.some((x) => /mod_dl_src:02:66:7[0-3]/.test(x)), 'no tag when not inline');
  assert.ok(!plain.some((x) => /in_port=3500\d/.test(x)), 'no return flows when not inline');

  // Copied and diverted on the way to db-0, failing open: the copy leaves untagged, the group's
  // first bucket tags (delivered side, open bit), its fallback goes on untouched.
  const both = [
    f.contracts[1],
    { ...f.contracts[2], id: 'hold-db', src: 'db-0', direction: 'ingress' as const, options: { failMode: 'open' as const } },
  ];
  const c = unwrap(renderOvsNode(suiteDesired(f, {}, { contracts: both })));
  const open = redirectTag(mac('db-0'), 'delivered', 'open');
  assert.ok(open.startsWith('02:66:73:'), open);
  assert.deepEqual(
    c.groups.map((g) => g.text),
    [
      `group_id=1,type=fast_failover,bucket=watch_port:33001,actions=mod_dl_src:${open},output:33001,bucket=watch_port:102,actions=resubmit(,32)`,
    ],
  );
  // Two contracts of one monitor on one port: the copy is the redirect's (one per monitor), the group diverts.
  assert.ok(texts(c.flows).some((x) => /^table=31,priority=101,.*reg2=102,udp,tp_dst=5000,actions=group:1$/.test(x)));

  // A budgeted redirect meters before it tags.
  const budget = { ...f.contracts[2], options: { failMode: 'closed' as const, budget: { rate: 10, unit: 'pps' as const } } };
  const b = flowsOf(suiteDesired(f, {}, { contracts: [budget] })).map(bare);
  assert.ok(
    b.some((x) => x.endsWith(`actions=meter:10001,mod_dl_src:${tag},output:33001`)),
    b.join('\n'),
  );
});

test("a frame passed back is restored by its tag's port: delivered ones go to delivery, sent ones re-enter at conntrack as their sender's", () => {
  const fl = flowsOf();
  const back = fl.filter((x) => x.table === 0 && /in_port=35001/.test(x.match));
  const t = back.map(bare);
  for (const [i, port] of [
    ['api-0', 100],
    ['api-1', 101],
    ['db-0', 102],
  ] as const) {
    assert.ok(
      t.includes(
        `table=0,priority=625,in_port=35001,dl_src=${kind(i, 'delivered')},actions=mod_dl_src:${ROUTER},load:${port}->NXM_NX_REG2[],resubmit(,32)`,
      ),
      t.join('\n'),
    );
    assert.ok(
      t.includes(
        `table=0,priority=625,in_port=35001,dl_src=${kind(i, 'sent')},actions=mod_dl_src:${mac(i)},load:${port}->NXM_OF_IN_PORT[],resubmit(,20)`,
      ),
    );
  }
  // Anything else by the return port is dropped, below the tagged flows and counted.
  assert.ok(t.includes('table=0,priority=610,in_port=35001,actions=drop'));
  assert.equal(back.length, 7);
  // The mask leaves out the failMode bit only: both modes' tags of one instance and side match one flow.
  const [m, mask] = kind('api-1', 'sent').split('/');
  const masked = (x: string) =>
    x
      .split(':')
      .map((b, k) => (Number.parseInt(b, 16) & Number.parseInt(mask.split(':')[k], 16)).toString(16))
      .join(':');
  assert.equal(masked(redirectTag(mac('api-1'), 'sent', 'open')), masked(m));
  assert.notEqual(masked(redirectTag(mac('api-1'), 'delivered', 'closed')), masked(m));
  // Counted as nft counts them: the chain of the return port, the comment by side.
  const rules = new Set(back.filter((x) => x.rule).map((x) => `${x.rule!.chain}|${x.rule!.comment}`));
  assert.deepEqual(
    [...rules].sort(),
    [
      `${returnChainName('fr1')}|${returnComment('m2', 'delivered')}`,
      `${returnChainName('fr1')}|${returnComment('m2', 'sent')}`,
      `${returnChainName('fr1')}|not a frame m2 passed`,
    ].sort(),
  );
});

test("a monitor's answers come back by its tap port, tagged as destination: to the sender straight out of its port, to a peer as the instance's", () => {
  const t = flowsOf()
    .filter((x) => x.table === 0 && /in_port=33000/.test(x.match))
    .map(bare);
  assert.ok(
    t.includes(
      `table=0,priority=620,in_port=33000,dl_dst=${kind('api-0', 'sent')},actions=mod_dl_src:${ROUTER},mod_dl_dst:${mac('api-0')},output:100`,
    ),
    t.join('\n'),
  );
  assert.ok(
    t.includes(
      `table=0,priority=620,in_port=33000,dl_dst=${kind('db-0', 'delivered')},actions=mod_dl_src:${mac('db-0')},mod_dl_dst:${ROUTER},load:102->NXM_OF_IN_PORT[],resubmit(,20)`,
    ),
  );
  assert.ok(t.includes('table=0,priority=610,in_port=33000,actions=drop'));
  assert.ok(t.includes('table=0,priority=600,in_port=33000,actions=drop'), 'the pipeline drop stays below');
  assert.equal(t.filter((x) => x.includes('dl_src=')).length, 0, 'passed frames come back by the return port only');
});

test('a terminated instance has no return mapping; a monitor on another node returns by its tunnel only when a redirect here diverts to it', () => {
  const gone = flowsOf(suiteDesired(f, { 'api-1': 'terminated' })).map(bare);
  assert.ok(!gone.some((x) => x.includes(kind('api-1', 'sent').split('/')[0])), 'api-1 has no port: no tag maps to it');
  assert.ok(gone.some((x) => x.includes(kind('api-0', 'sent').split('/')[0])));

  const d = suiteDesired(f);
  const away = (monitor: string) => ({
    ...d,
    context: {
      ...d.context,
      addressing: {
        ...f.addressing,
        monitors: { ...f.addressing.monitors, [monitor]: { ...f.addressing.monitors[monitor], node: 'n2' } },
      },
    },
  });
  // m2 (hold-api1 diverts to it) away: its tunnel port 34001 brings back passed frames and answers.
  const t = unwrap(renderOvsNode(away('m2'))).flows.map(bare);
  const tag = redirectTag(mac('api-1'), 'sent', 'closed');
  assert.ok(t.includes(`table=10,priority=100,udp,in_port=101,tp_dst=5000,actions=mod_dl_src:${tag},output:34001`), t.join('\n'));
  assert.ok(t.some((x) => x.startsWith(`table=0,priority=625,in_port=34001,dl_src=${kind('api-1', 'sent')},`)));
  assert.ok(t.some((x) => x.startsWith(`table=0,priority=620,in_port=34001,dl_dst=${kind('api-1', 'sent')},`)));
  assert.ok(t.includes('table=0,priority=610,in_port=34001,actions=drop'));
  assert.ok(!t.some((x) => /in_port=35001/.test(x)), 'no return port here for a monitor elsewhere');
  // m1 (only copies go to it) away: nothing comes back by its tunnel.
  const m1 = unwrap(renderOvsNode(away('m1'))).flows.map(bare);
  assert.deepEqual(
    m1.filter((x) => x.includes('in_port=34000')),
    ['table=0,priority=600,in_port=34000,actions=drop'],
  );
});

test('an inline redirect from a port with no valid MAC is an error naming it', () => {
  const d = suiteDesired(f);
  const bad = {
    ...d,
    context: {
      ...d.context,
      addressing: {
        ...f.addressing,
        instances: { ...f.addressing.instances, 'api-1': { ...f.addressing.instances['api-1'], mac: 'nope' } },
      },
    },
  };
  const r = renderOvsNode(bad);
  assert.ok(!r.ok && r.errors.some((e) => e.code === 'E_NFT_TAP_PORT' && /hold-api1|api-1/.test(e.message) && /MAC/.test(e.message)));
  assert.ok(renderOvsNode({ ...bad, inline: false }).ok, 'a plain redirect needs no MAC');
});
