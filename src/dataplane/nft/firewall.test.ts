import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { unwrap } from '../../diagnostics/index.js';
import { inferFirewall, quarantine } from '../../firewall/index.js';
import { loadApp, planAddresses } from '../../model/index.js';
import { needsRoot } from '../../system/testing.js';
import { NODE_UPLINKS, renderNftFirewall } from '../index.js';

const load = () => {
  const r = loadApp('examples/dvd-rental/app.yaml');
  assert.ok(r.ok);
  return r.value;
};

test('renders one chain pair per local instance, keyed on its port and addresses', () => {
  const app = load();
  const addr = unwrap(planAddresses(app));
  const text = unwrap(renderNftFirewall(inferFirewall(app), app, addr, 'node2', { mode: 'enforce', uplinks: NODE_UPLINKS }));
  const db = addr.instances['db-0'];
  assert.match(text, /^table inet flowtap \{/);
  assert.ok(text.includes(`"${db.port}" : jump in_db_0`));
  assert.ok(text.includes(`"${db.port}" : jump eg_db_0`));
  // db accepts exactly the three data-owning services on 5432, then drops by default.
  const chain = text.slice(text.indexOf('chain in_db_0'), text.indexOf('}', text.indexOf('chain in_db_0')));
  for (const s of ['user_create', 'user_update', 'dvd_update'])
    assert.ok(chain.includes(`ip saddr @svc_${s} tcp dport 5432 counter accept`), s);
  assert.ok(!chain.includes('svc_shipping') && !chain.includes('svc_dvd_return'));
  assert.match(chain, /counter drop comment "in_db_0 default"/);
  // Instances on node1 get no chains on node2.
  assert.ok(!text.includes('chain in_contract_update_0'));
  assert.match(text, /policy drop;/);
});

test('audit mode logs instead of dropping; quarantine cuts established traffic first', () => {
  const app = load();
  const addr = unwrap(planAddresses(app));
  const audit = unwrap(renderNftFirewall(inferFirewall(app), app, addr, 'node2', { mode: 'audit', uplinks: NODE_UPLINKS }));
  assert.ok(!/counter drop comment "in_db_0 default"/.test(audit));
  assert.match(audit, /log prefix "flowtap-audit in_db_0 " accept/);
  assert.match(audit, /policy accept;/);
  const q = unwrap(
    renderNftFirewall(quarantine(inferFirewall(app), ['db-0']), app, addr, 'node2', { mode: 'enforce', uplinks: NODE_UPLINKS }),
  );
  const port = addr.instances['db-0'].port;
  // The forward chain jumps to the quarantine chain before it lets established traffic through.
  const jump = q.indexOf('jump quarantine');
  assert.ok(jump > 0 && jump < q.indexOf('ct state established'));
  const chain = q.slice(q.indexOf('chain quarantine {')).split('}')[0];
  assert.ok(chain.includes(`iifname "${port}" counter drop comment "quarantine"`));
  assert.ok(chain.includes(`oifname "${port}" counter drop comment "quarantine"`));
  assert.ok(!q.slice(q.indexOf('chain in_db_0')).split('}')[0].includes('accept'));
});

test('nft accepts the rendered firewall of every node (nft -c)', { skip: needsRoot() }, () => {
  const app = load();
  const addr = unwrap(planAddresses(app));
  for (const node of app.nodes) {
    for (const mode of ['enforce', 'audit'] as const) {
      const text = unwrap(renderNftFirewall(inferFirewall(app), app, addr, node.name, { mode, uplinks: NODE_UPLINKS }));
      execFileSync('nft', ['-c', '-f', '-'], { input: text });
    }
  }
  // And the check is real: a broken script is refused.
  assert.throws(() =>
    execFileSync('nft', ['-c', '-f', '-'], { input: 'table inet flowtap { chain x { ip saddr @nosuchset drop } }', stdio: 'pipe' }),
  );
});
