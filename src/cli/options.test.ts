/** The option parsers of the agent commands: levels, periods, counts and points in time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from 'commander';
import { countArg, levelArg, listOption, periodArg, timeArg } from './options.js';

const refused = (f: () => unknown, pattern: RegExp) =>
  assert.throws(f, (e: Error) => e instanceof InvalidArgumentError && pattern.test(e.message));

test('levels 0 to 4; periods from 0.1 s to an hour, in milliseconds; counts within their bound', () => {
  assert.deepEqual(['0', '1', '4'].map(levelArg), [0, 1, 4]);
  for (const bad of ['5', '-1', '1.5', '', 'one']) refused(() => levelArg(bad), /from 0 to 4/);
  assert.deepEqual(['0.1', '2', '1.5', '3600'].map(periodArg), [100, 2000, 1500, 3_600_000]);
  for (const bad of ['0.05', '0', '3601', 'x', '']) refused(() => periodArg(bad), /from 0\.1 to 3600/);
  assert.equal(countArg(100)('100'), 100);
  for (const bad of ['0', '101', '2.5']) refused(() => countArg(100)(bad), /from 1 to 100/);
  assert.deepEqual(listOption('flow,log', listOption('syscall')), ['syscall', 'flow', 'log']);
});

test('a time: ISO, or a duration before now', () => {
  const now = Date.parse('2026-11-21T10:00:00Z');
  assert.equal(timeArg('5m', now), now - 300_000);
  assert.equal(timeArg('1h30m', now), now - 5_400_000);
  assert.equal(timeArg('90s', now), now - 90_000);
  assert.equal(timeArg('1d', now), now - 86_400_000);
  assert.equal(timeArg('250ms', now), now - 250);
  assert.equal(timeArg('2026-11-21T09:30:00Z', now), Date.parse('2026-11-21T09:30:00Z'));
  assert.equal(timeArg('2026-11-21T09:30:00.5+01:00', now), Date.parse('2026-11-21T08:30:00.5Z'));
  assert.equal(timeArg('2026-11-21', now), Date.parse('2026-11-21'));
  for (const bad of ['yesterday', '5', 'm5', '2026-13-45', 'March 3', '5 m'])
    refused(() => timeArg(bad, now), /ISO time .* duration before now/);
});
