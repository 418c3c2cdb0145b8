import { test } from 'node:test';
import assert from 'node:assert/strict';
import { natsPermissionError, PG_INSUFFICIENT_PRIVILEGE, pgErrorResponse, refusalFor } from './refusals.js';

/** An ErrorResponse's fields, read the way a client reads them; throws on any framing fault. */
function readErrorResponse(b: Uint8Array): Map<string, string> {
  assert.equal(b[0], 0x45, "an 'E' message");
  const len = new DataView(b.buffer, b.byteOffset).getInt32(1);
  assert.equal(len, b.length - 1, 'the length covers everything after the type byte');
  const fields = new Map<string, string>();
  let i = 5;
  while (b[i] !== 0) {
    const end = b.indexOf(0, i + 1);
    assert.ok(end > i, 'every field ends with a NUL');
    fields.set(String.fromCharCode(b[i]), new TextDecoder().decode(b.subarray(i + 1, end)));
    i = end + 1;
  }
  assert.equal(i, b.length - 1, 'the terminator is the last byte');
  return fields;
}

test('a refused statement: ErrorResponse with severity ERROR, SQLSTATE 42501, the reason and the uid', () => {
  const f = readErrorResponse(pgErrorResponse('user-create-0 ran SELECT on users on db-0; allowed: INSERT on users', 'CAbc123'));
  assert.equal(f.get('S'), 'ERROR');
  assert.equal(f.get('V'), 'ERROR');
  assert.equal(f.get('C'), PG_INSUFFICIENT_PRIVILEGE);
  assert.equal(
    f.get('M'),
    "permission denied by flowtap's inline monitor: user-create-0 ran SELECT on users on db-0; allowed: INSERT on users",
  );
  assert.match(f.get('D') ?? '', /^connection CAbc123 /);
});

test('hostile reason text cannot break the framing: NULs and control bytes are replaced, the length is capped', () => {
  const b = pgErrorResponse(`a\0b\r\n${'x'.repeat(5000)}\u00e9`, 'C\0uid');
  const f = readErrorResponse(b);
  assert.match(f.get('M') ?? '', /: a\?b\?\?x+$/);
  assert.ok(b.length < 700, `${b.length} bytes: must fit one segment`);
  assert.match(f.get('D') ?? '', /^connection C\?uid /);
});

test("a refused publish or subscription: nats-server's Permissions Violation wording, one line", () => {
  assert.equal(
    new TextDecoder().decode(natsPermissionError('PUB users.deleted', 'CX1')),
    `-ERR 'Permissions Violation for Publish to "users.deleted" (flowtap inline monitor, connection CX1)'\r\n`,
  );
  assert.match(
    new TextDecoder().decode(natsPermissionError('SUB orders.>', 'CX2')),
    /^-ERR 'Permissions Violation for Subscription to "orders\.>" /,
  );
});

test('a subject cannot end the quoted error early or add a protocol line', () => {
  const text = new TextDecoder().decode(natsPermissionError(`PUB a'"b\r\n+OK`, 'C\r\n'));
  assert.equal(text.indexOf('\r\n'), text.length - 2, 'one line');
  assert.equal(text.split("'").length, 3, 'exactly the two quotes around the message');
});

test('the answer follows the kind of the decision that blocked; connection blocks and oddities get none (a reset)', () => {
  const http = new TextDecoder().decode(refusalFor('http', 'GET /admin', 'not allowed', 'C1')!);
  assert.match(http, /^HTTP\/1\.1 403 Forbidden/);
  assert.match(http, /GET \/admin: not allowed/);
  assert.equal(refusalFor('sql', 'SELECT 1', 'r', 'C1')![0], 0x45);
  assert.match(new TextDecoder().decode(refusalFor('nats', 'PUB x', 'r', 'C1')!), /^-ERR /);
  assert.equal(refusalFor('connection', 'tcp connection', 'r', 'C1'), null);
  assert.equal(refusalFor(null, null, 'picked up mid-stream', 'C1'), null);
});
