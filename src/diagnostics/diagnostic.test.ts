import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diag, fail, FlowtapError, formatDiagnostic, ok, unwrap } from './index.js';

test('formats file, line, column and field', () => {
  const d = diag('E_UNKNOWN_KEY', 'unknown key "prot"', { file: 'app.yaml', line: 4, col: 7, field: 'services.web.ports[0]' });
  assert.equal(formatDiagnostic(d), 'app.yaml:4:7 (services.web.ports[0]): error E_UNKNOWN_KEY: unknown key "prot"');
});

test('formats a packet number', () => {
  assert.equal(
    formatDiagnostic(diag('E_CAPTURE_TRUNCATED', 'truncated', { file: 'x.pcap', packet: 12 })),
    'x.pcap packet 12: error E_CAPTURE_TRUNCATED: truncated',
  );
});

test('unwrap returns the value or throws every diagnostic', () => {
  assert.equal(unwrap(ok(3)), 3);
  assert.throws(
    () => unwrap(fail([diag('E_READ', 'a'), diag('E_TYPE', 'b')])),
    (e: unknown) => e instanceof FlowtapError && e.diagnostics.length === 2,
  );
});
