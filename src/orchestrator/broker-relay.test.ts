/**
 * The relay and the forwarder on real sockets (no namespaces needed: the path is the same): a
 * TCP server reached from a loopback port through a Unix socket, both ways, several streams at
 * once; a stale socket file is replaced; closing ends the streams and removes the socket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startForwarder, startRelay } from './broker-relay.js';

function echoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
    s.on('data', (d) => s.write(`echo:${d}`));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as { port: number }).port,
        close: () => {
          for (const s of open) s.destroy();
          return new Promise((r) => server.close(() => r()));
        },
      }),
    ),
  );
}

function ask(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect(port, '127.0.0.1');
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed without an answer')));
    c.once('data', (d) => {
      resolve(String(d));
      c.end();
    });
    c.write(text);
  });
}

test('loopback port -> forwarder -> Unix socket -> relay -> TCP server, and back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowtap-relay-'));
  const socket = join(dir, 'broker', 'store.sock');
  const server = await echoServer();
  // A socket file left by a relay that was killed.
  await startRelay([{ socket, host: '127.0.0.1', port: 1 }]).then((r) => r.close());
  writeFileSync(socket, 'stale');
  const relay = await startRelay([{ socket, host: '127.0.0.1', port: server.port }]);
  assert.ok(statSync(socket).isSocket());
  assert.equal(statSync(socket).mode & 0o777, 0o600, 'only its owner may use it');
  const fwd = await startForwarder(socket);
  assert.notEqual(fwd.port, server.port);
  const answers = await Promise.all(['a', 'b', 'c'].map((t) => ask(fwd.port, t)));
  assert.deepEqual(answers, ['echo:a', 'echo:b', 'echo:c']);
  // A server that is gone: the stream is closed, the relay lives on for the next one.
  await server.close();
  await assert.rejects(ask(fwd.port, 'x'));
  const again = await echoServer();
  await relay.close();
  assert.equal(existsSync(socket), false, 'closing removes the socket');
  const relay2 = await startRelay([{ socket, host: '127.0.0.1', port: again.port }]);
  assert.equal(await ask(fwd.port, 'd'), 'echo:d', 'the forwarder reaches a relay started again');
  await fwd.close();
  await relay2.close();
  await again.close();
});
