import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instanceLogsCollector } from './instance-logs.js';
import { controlSubject, recordsSubject, subjectToken } from './subjects.js';

describe('instance logs', () => {
  test("new lines of each instance's log, attributed to it; a filtered-out instance's lines are skipped for good", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowtap-ilogs-'));
    const web = join(dir, 'web.log');
    const db = join(dir, 'db.log');
    writeFileSync(web, 'old\n');
    writeFileSync(db, '');
    const c = instanceLogsCollector([
      { name: 'web-0', service: 'web', ns: 'a', logFile: web },
      { name: 'db-0', service: 'db', ns: 'b', logFile: db },
      { name: 'cache-0', service: 'cache', ns: 'c' },
    ]);
    await c.start?.({ level: 2, periodMs: 1000 });
    appendFileSync(web, 'GET / 200\n');
    appendFileSync(db, 'LOG: checkpoint\n');
    const r = await c.collect({ level: 2, periodMs: 1000, instances: ['web-0'] }, 5);
    assert.deepEqual(r.records, [{ kind: 'log', ts: 5, instance: 'web-0', service: 'web', data: { line: 'GET / 200' } }]);
    appendFileSync(db, 'LOG: vacuum\n');
    const all = await c.collect({ level: 2, periodMs: 1000 }, 6);
    assert.deepEqual(
      all.records.map((x) => x.data.line),
      ['LOG: vacuum'],
      'the checkpoint line was read while filtered out',
    );
  });

  test('subjects: names that would break a subject are folded', () => {
    assert.equal(subjectToken('a.b c*>'), 'a_b_c__');
    assert.equal(controlSubject('acme', 'dvd.rental'), 'flowtap.acme.dvd_rental.control._all');
    assert.equal(recordsSubject('acme', 'dvd', 'node1', 'agent-cost'), 'flowtap.acme.dvd.records.node1.agent-cost');
  });
});
