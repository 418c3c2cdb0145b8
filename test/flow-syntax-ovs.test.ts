/**
 * The flow syntax against Open vSwitch: thousands of generated matches over every field flowtap
 * shares with OVS (valid ones, and ones with missing prerequisites, bad masks, values out of
 * range, bad spellings) go through `ovs-ofctl parse-flows` and through flowtap's parser. They
 * must agree on acceptance and, when both accept, flowtap's canonical text must equal the one
 * ovs-ofctl prints. flowtap's extensions (fields.ts: FLOWTAP_EXTENSIONS) are not compared; where
 * flowtap is stricter, OVS's own output must show it dropped or altered the element.
 * Needs `ovs-ofctl` (Debian's openvswitch-switch): skipped without it, failed where
 * FLOWTAP_REQUIRE_ROOT=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { parseFlow } from '../src/flowtap/index.js';
import { seededRng } from '../src/random/index.js';
import { needs } from '../src/system/testing.js';
import { OVS_OFCTL, compare, generateFlow, ovsParse, type Comparison } from './ovs-flows.js';

function ovsMissing(): string | null {
  try {
    execFileSync(OVS_OFCTL, ['--version'], { stdio: 'ignore', timeout: 30_000 });
    return null;
  } catch {
    return `needs ${OVS_OFCTL} (apt-get install openvswitch-switch, or run scripts/setup.sh as root)`;
  }
}

const skip = needs(ovsMissing());
const COUNT = Number(process.env.FLOWTAP_OVS_FLOWS ?? 3000);

test('flow syntax agrees with ovs-ofctl on acceptance and canonical form', { skip, timeout: 600_000 }, async () => {
  const r = seededRng(Number(process.env.FLOWTAP_OVS_SEED ?? 15));
  const flows = Array.from({ length: COUNT }, () => generateFlow(r));
  const started = Date.now();
  const { verdicts, invocations } = await ovsParse(flows.map((f) => f.text));
  const counts: Record<string, number> = {};
  const fields = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < flows.length; i++) {
    const c: Comparison = compare(flows[i], verdicts[i]);
    const key = c.outcome === 'stricter' ? `stricter:${c.excuse}` : c.outcome;
    counts[key] = (counts[key] ?? 0) + 1;
    if (c.outcome === 'agree-accept') for (const f of flows[i].fields) fields.add(f);
    if (c.outcome === 'disagree') problems.push(`${JSON.stringify(flows[i].text)}: ${c.detail}`);
    // An extension is not OVS's to judge, but flowtap must keep taking it.
    if (c.outcome === 'extension' && !parseFlow(flows[i].text).ok)
      problems.push(`extension ${flows[i].extension} refused: ${flows[i].text}`);
  }
  const compared = flows.length - (counts.extension ?? 0);
  console.log(
    `flow-syntax oracle: ${compared} matches compared with ovs-ofctl (${counts.extension ?? 0} extensions skipped) ` +
      `in ${invocations} ovs-ofctl runs, ${Date.now() - started} ms: ${JSON.stringify(counts)}; ` +
      `${fields.size} field names seen in agreed matches`,
  );
  assert.deepEqual(problems.slice(0, 25), [], `${problems.length} disagreements`);
  // The generator must reach both sides of the question, or agreement says little.
  assert.ok((counts['agree-accept'] ?? 0) > COUNT / 4, 'too few accepted matches');
  assert.ok((counts['agree-reject'] ?? 0) > COUNT / 20, 'too few refused matches');
  for (const f of [
    'vlan_tci',
    'dl_vlan',
    'nw_src',
    'ipv6_src',
    'ipv6_label',
    'nd_target',
    'metadata',
    'reg3',
    'ct_state',
    'ct_mark',
    'ct_zone',
    'tcp_flags',
    'arp_sha',
    'tun_id',
  ]) {
    assert.ok(fields.has(f), `no accepted match used ${f}`);
  }
});

test('the comparison excuses flowtap only where OVS visibly dropped or altered the element', () => {
  const flow = (text: string) => ({ text, kind: 'valid-looking' as const, fields: [] });
  const accept = (canonical: string) => ({ ok: true as const, canonical });
  const refuse = { ok: false as const, error: 'invalid' };
  const outcome = (text: string, v: Parameters<typeof compare>[1]) => {
    const c = compare(flow(text), v);
    return c.outcome === 'stricter' ? `stricter:${c.excuse}` : c.outcome;
  };
  assert.equal(outcome('tcp,tp_dst=80', accept('tcp,tp_dst=80')), 'agree-accept');
  assert.equal(outcome('tcp,tp_dst=80', accept('tcp,tp_dst=81')), 'disagree');
  assert.equal(outcome('tcp,tp_dst=80', refuse), 'disagree');
  assert.equal(outcome('tcp,tp_dst=99999', refuse), 'agree-reject');
  // OVS dropped tp_dst (no protocol): flowtap's refusal is the strict extension.
  assert.equal(outcome('tp_dst=80', accept('')), 'stricter:prereq-dropped');
  // Had OVS kept it, the same refusal would be a disagreement.
  assert.equal(outcome('tp_dst=80', accept('tp_dst=80')), 'disagree');
  assert.equal(outcome('udp,tcp_dst=5', accept('udp,tp_dst=5')), 'stricter:storage-alias');
  assert.equal(outcome('dl_vlan=4096', accept('dl_vlan=0')), 'stricter:value-altered');
  assert.equal(outcome('dl_vlan=4096', accept('dl_vlan=4096')), 'disagree');
  assert.equal(outcome('ip,nw_src=1.2.3.256', accept('ip,nw_src=1.2.3.0')), 'stricter:value-altered');
  assert.equal(outcome('tcp,tp_dst=', accept('tcp')), 'stricter:empty-value');
  assert.equal(outcome('ip,nw_src=1.2.3', accept('ip')), 'disagree');
  assert.equal(compare({ text: 'tcp,tp_dst=1-9', kind: 'extension', fields: [] }, refuse).outcome, 'extension');
});
