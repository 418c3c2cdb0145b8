import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceByKind } from './resources.js';
import { humanDuration, selectorText, toTable } from './table.js';

test('ages read as kubectl prints them, coarser as they grow', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-500, '0s'],
    [45 * s, '45s'],
    [119 * s, '119s'],
    [200 * s, '3m20s'],
    [600 * s, '10m'],
    [3 * 3600 * s, '3h'],
    [(5 * 3600 + 7 * 60) * s, '5h7m'],
    [30 * 3600 * s, '30h'],
    [(3 * 24 + 4) * 3600 * s, '3d4h'],
    [100 * 24 * 3600 * s, '100d'],
    [(3 * 365 + 10) * 24 * 3600 * s, '3y10d'],
    [10 * 365 * 24 * 3600 * s, '10y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

test('selectors print as kubectl shows them', () => {
  assert.equal(
    selectorText({
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'c', operator: 'NotIn', values: ['x', 'y'] },
        { key: 'd', operator: 'Exists' },
      ],
    }),
    'a=1,b=2,c notin (x,y),d',
  );
  assert.equal(selectorText({}), '<none>');
});

test('a kind without its own columns gets NAME and CREATED AT', () => {
  const cm = resourceByKind('v1', 'Secret')!;
  const t = toTable(
    cm,
    [{ metadata: { name: 's', creationTimestamp: '2024-01-01T00:00:00Z' } }],
    { resourceVersion: '5' },
    { version: 'v1', includeObject: 'None', now: new Date() },
  ) as {
    columnDefinitions: { name: string }[];
    rows: { cells: unknown[]; object?: unknown }[];
  };
  assert.deepEqual(
    t.columnDefinitions.map((c) => c.name),
    ['Name', 'Created At'],
  );
  assert.deepEqual(t.rows, [{ cells: ['s', '2024-01-01T00:00:00Z'] }]);
});
