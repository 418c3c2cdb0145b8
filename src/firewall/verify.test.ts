import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unwrap } from '../diagnostics/index.js';
import { loadApp, planAddresses, type App } from '../model/index.js';
import { inferFirewall, verifyRuleset, type FirewallRule, type Ruleset } from './index.js';

const dvd = (): App => {
  const r = loadApp('examples/dvd-rental/app.yaml');
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.value;
};
const clone = (r: Ruleset): Ruleset => JSON.parse(JSON.stringify(r));

test('the inferred dvd-rental firewall verifies with zero differences and no findings', () => {
  const app = dvd();
  const rs = inferFirewall(app);
  const report = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  assert.deepEqual(report.missing, []);
  assert.deepEqual(report.extra, []);
  assert.deepEqual(report.findings, []);
  assert.ok(report.ok);
  // Every requirement appears as an allowed connection class, and nothing else.
  assert.equal(report.allowed.length, app.requirements.length);
  assert.ok(report.allowed.some((c) => c.src === 'external' && c.dst === 'contract-update'));
  assert.ok(!report.allowed.some((c) => c.src === 'shipping' && c.dst === 'db'));
  assert.ok(!report.allowed.some((c) => c.src === 'dvd-return' && c.dst === 'db'));
});

test('web-sql verifies too', () => {
  const r = loadApp('examples/web-sql/app.yaml');
  assert.ok(r.ok);
  assert.ok(verifyRuleset(inferFirewall(r.value), r.value, unwrap(planAddresses(r.value))).ok);
});

test('a missing requirement (rule deleted) is reported as missing', () => {
  const app = dvd();
  const rs = clone(inferFirewall(app));
  // Drop the ingress rule that lets user-update reach db.
  rs.rules = rs.rules.filter(
    (r) => !(r.direction === 'ingress' && r.target === 'db-0' && r.peer.kind === 'service' && r.peer.service === 'user-update'),
  );
  const report = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  assert.deepEqual(
    report.missing.map((c) => `${c.src}>${c.dst}:${c.protocol}/${c.ports?.[0].from}`),
    ['user-update>db:tcp/5432'],
  );
  assert.deepEqual(report.extra, []);
  assert.equal(report.ok, false);
});

test('a rule that opens too much is reported as extra connectivity', () => {
  const app = dvd();
  const rs = clone(inferFirewall(app));
  // shipping may now talk to anything, and db accepts anyone on 5432.
  rs.rules.push(
    { id: 'x1', direction: 'egress', target: 'shipping-0', peer: { kind: 'any' }, protocol: 'tcp', ports: null, action: 'accept' },
    {
      id: 'x2',
      direction: 'ingress',
      target: 'db-0',
      peer: { kind: 'any' },
      protocol: 'tcp',
      ports: [{ from: 5432, to: 5432 }],
      action: 'accept',
    },
  );
  const report = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  const extra = report.extra.map((c) => `${c.src}>${c.dst}`).sort();
  assert.ok(extra.includes('shipping>db'), extra.join(' '));
  assert.ok(extra.includes('external>db'), extra.join(' '));
  assert.deepEqual(report.missing, []);
});

test('a shadowed rule is found and attributed to the rule that shadows it', () => {
  const app = dvd();
  const rs = clone(inferFirewall(app));
  const chain = rs.rules.filter((r) => r.direction === 'ingress' && r.target === 'db-0');
  const first = rs.rules.indexOf(chain[0]);
  const drop: FirewallRule = {
    id: 'd1',
    direction: 'ingress',
    target: 'db-0',
    peer: { kind: 'any' },
    protocol: 'tcp',
    ports: [{ from: 5432, to: 5432 }],
    action: 'drop',
  };
  rs.rules.splice(first, 0, drop);
  const report = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  const shadowed = report.findings.filter((f) => f.kind === 'shadowed');
  assert.deepEqual(shadowed.map((f) => f.rule).sort(), chain.map((r) => r.id).sort());
  assert.ok(shadowed.every((f) => f.by.includes('d1')));
  // The shadowed rules' connections are now missing, too.
  assert.equal(report.missing.filter((c) => c.dst === 'db').length, 3);
});

test('a redundant rule (duplicate of an earlier one) is found', () => {
  const app = dvd();
  const rs = clone(inferFirewall(app));
  const orig = rs.rules.find((r) => r.direction === 'ingress' && r.target === 'shipping-0')!;
  rs.rules.push({ ...orig, id: 'dup' });
  const report = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  const f = report.findings.find((x) => x.rule === 'dup');
  assert.equal(f?.kind, 'redundant');
  assert.deepEqual(f?.by, [orig.id]);
  assert.deepEqual(report.extra, []);
});

test('a drop rule that only repeats the default deny is redundant; a partial overlap conflicts', () => {
  const app = dvd();
  const rs = clone(inferFirewall(app));
  rs.rules.push({
    id: 'd2',
    direction: 'ingress',
    target: 'shipping-0',
    peer: { kind: 'service', service: 'db' },
    protocol: 'tcp',
    ports: [{ from: 8080, to: 8080 }],
    action: 'drop',
  });
  rs.rules.push({
    id: 'd3',
    direction: 'ingress',
    target: 'shipping-0',
    peer: { kind: 'any' },
    protocol: 'tcp',
    ports: [{ from: 8000, to: 8100 }],
    action: 'drop',
  });
  const report = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  assert.equal(report.findings.find((x) => x.rule === 'd2')?.kind, 'redundant');
  const d3 = report.findings.find((x) => x.rule === 'd3');
  // d3 overlaps the accept for dvd-update on 8080 but still decides other ports and peers.
  assert.equal(d3?.kind, 'redundant', 'everything d3 still decides is denied by default anyway');
  rs.isolated.ingress = rs.isolated.ingress.filter((i) => i !== 'shipping-0');
  const open = verifyRuleset(rs, app, unwrap(planAddresses(app)));
  assert.equal(open.findings.find((x) => x.rule === 'd3')?.kind, 'conflicting');
});

test('hand-edited rules load from JSON with positioned errors', async () => {
  const { parseRuleset } = await import('./index.js');
  const app = dvd();
  const good = JSON.stringify(inferFirewall(app), null, 2);
  assert.ok(parseRuleset(good, 'rules.json', app).ok);
  const bad = good.replace('"action": "accept"', '"action": "allow"').replace('"target": "db-0"', '"target": "db-9"');
  const r = parseRuleset(bad, 'rules.json', app);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.ok(r.errors.length >= 1);
    assert.ok(
      r.errors.every((e) => e.loc?.file === 'rules.json' && typeof e.loc.line === 'number'),
      JSON.stringify(r.errors),
    );
  }
});

test('a hand-edited ruleset with a bad peer kind or port is told what fits, once per field', async () => {
  const { parseRuleset } = await import('./index.js');
  const app = dvd();
  const rs = inferFirewall(app);
  const i = rs.rules.findIndex((r) => r.ports?.length);
  const said = (edit: (rule: Record<string, unknown>) => void) => {
    const copy = JSON.parse(JSON.stringify(rs)) as { rules: Record<string, unknown>[] };
    edit(copy.rules[i]);
    const r = parseRuleset(JSON.stringify(copy, null, 2), 'rules.json', app);
    return r.ok ? [] : r.errors.map((e) => `${e.loc?.field} ${e.code} ${e.message}`);
  };
  assert.deepEqual(
    said((r) => {
      r.peer = { kind: 'everyone' };
    }),
    [`rules[${i}].peer.kind E_ENUM expected one of "service", "instances", "cidr", "external", "any"; got the string "everyone"`],
  );
  assert.deepEqual(
    said((r) => {
      r.ports = [{ from: 80, to: 70000 }];
    }),
    [`rules[${i}].ports[0].to E_SCHEMA must be at most 65535`],
  );
  assert.deepEqual(
    said((r) => {
      r.ports = [{ from: 1.5, to: 80 }];
    }),
    [`rules[${i}].ports[0].from E_TYPE expected a whole number, got the number 1.5`],
  );
  // YAML can spell infinity; it fails the type once, not also the integer and range checks.
  const yaml = JSON.stringify(rs, null, 2).replace(/"port": \d+|"from": \d+/, (m) => m.replace(/\d+$/, '.inf'));
  const r = parseRuleset(yaml, 'rules.yaml', app);
  assert.equal(r.ok, false);
  if (!r.ok)
    assert.deepEqual(
      r.errors.map((e) => `${e.code} ${e.message}`),
      ['E_TYPE expected a number, got the number Infinity'],
    );
});
