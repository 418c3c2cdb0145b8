import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../random/index.js';
import { parseFlow, validateFlowMatch } from '../index.js';
import { randomFlow } from './testing.js';

test('a flow that went through JSON validates back to itself', () => {
  const r = seededRng(41);
  for (let i = 0; i < 300; i++) {
    const m = randomFlow(r);
    const v = validateFlowMatch(JSON.parse(JSON.stringify(m)));
    assert.ok(v.ok);
    assert.deepEqual(v.value, m);
  }
});

test('hand-written JSON is normalised', () => {
  const v = validateFlowMatch({ dl_type: { value: 0x800, mask: 0xffff }, nw_src: { value: 0x0a010203, mask: 0xff000000 } });
  assert.ok(v.ok);
  const want = parseFlow('ip,nw_src=10.0.0.0/8');
  assert.ok(want.ok);
  assert.deepEqual(v.value, want.value);
});

test('malformed JSON flows are errors naming the field', () => {
  const cases: Array<[unknown, string, string | undefined]> = [
    [null, 'E_FLOW_BAD_VALUE', 'flow'],
    [[1], 'E_FLOW_BAD_VALUE', 'flow'],
    [{ nw_scr: { value: 1, mask: 1 } }, 'E_FLOW_UNKNOWN_FIELD', 'flow.nw_scr'],
    [{ tp_dst: { value: 70000, mask: 0xffff } }, 'E_FLOW_BAD_VALUE', 'flow.tp_dst'],
    [{ dl_src: { value: [1, 2], mask: [0xffff, 0xffff] } }, 'E_FLOW_BAD_VALUE', 'flow.dl_src'],
    [{ nw_ttl: { value: 1, mask: 1, range: { from: 1, to: 2 } } }, 'E_FLOW_BAD_VALUE', 'flow.nw_ttl'],
    [{ tp_dst: { value: 0, mask: 0, range: { from: 9, to: 3 } } }, 'E_FLOW_BAD_VALUE', 'flow.tp_dst'],
    [{ ip_frag: { value: 2, mask: 3 } }, 'E_FLOW_CONFLICT', 'flow.ip_frag'],
    [{ tp_dst: { value: 80, mask: 0xffff } }, 'E_FLOW_PREREQ', 'flow'],
    [{ dl_type: { value: 0x800, mask: 0xffff }, nw_tos: { value: 4, mask: 0xff } }, 'E_FLOW_NOT_MASKABLE', 'flow.nw_tos'],
  ];
  for (const [x, code, field] of cases) {
    const v = validateFlowMatch(x);
    assert.equal(v.ok, false, JSON.stringify(x));
    if (v.ok) continue;
    assert.equal(v.errors[0].code, code, `${JSON.stringify(x)}: ${v.errors[0].message}`);
    assert.equal(v.errors[0].loc?.field, field);
  }
});
