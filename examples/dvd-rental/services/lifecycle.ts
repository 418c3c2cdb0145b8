/** Starting a service, and the process-level wiring: signals, exit codes, graceful shutdown. */
import type { AddressInfo } from 'node:net';
import { bad, good, type Checked } from './checked.js';
import { createJsonServer } from './http-server.js';
import { createLogger, errorMessage, type Logger } from './log.js';
import type { Service } from './service.js';

interface RunningService {
  readonly name: string;
  readonly bind: string;
  readonly port: number;
  /** Drains HTTP, then releases the service's database and NATS resources. */
  stop(timeoutMs?: number): Promise<void>;
}

async function startService(service: Service, source: NodeJS.ProcessEnv, log: Logger): Promise<Checked<RunningService>> {
  const started = await service.start(source, log);
  if (!started.ok) return started;
  const { port, bind, parts } = started.value;
  const json = createJsonServer(parts.routes, log);
  const listening = await new Promise<Checked<number>>((resolve) => {
    json.server.once('error', (err) => resolve(bad(`${service.name}: cannot listen on ${bind}:${port}: ${errorMessage(err)}`)));
    json.server.listen(port, bind, () => resolve(good((json.server.address() as AddressInfo).port)));
  });
  if (!listening.ok) {
    await parts.stop();
    return listening;
  }
  json.server.on('error', (err) => log.error(`server error: ${errorMessage(err)}`));
  let stopping: Promise<void> | undefined;
  return good({
    name: service.name,
    bind,
    port: listening.value,
    stop(timeoutMs = 5000) {
      stopping ??= (async () => {
        await json.drain(timeoutMs);
        await parts.stop();
      })();
      return stopping;
    },
  });
}

/** Entry point for one service process: exits 2 on bad configuration, 0 after a clean SIGTERM. */
export async function runService(service: Service, source: NodeJS.ProcessEnv = process.env): Promise<void> {
  const log = createLogger(service.name);
  const running = await startService(service, source, log);
  if (!running.ok) {
    log.error(running.error);
    process.exitCode = 2;
    return;
  }
  log.info({ event: 'listening', bind: running.value.bind, port: running.value.port });
  const shutdown = (signal: NodeJS.Signals): void => {
    log.info({ event: 'shutdown', signal });
    const force = setTimeout(() => {
      log.error('shutdown timed out');
      process.exit(1);
    }, 10_000);
    force.unref();
    running.value.stop().then(
      () => {
        log.info({ event: 'stopped' });
        process.exit(0);
      },
      (err: unknown) => {
        log.error(`shutdown failed: ${errorMessage(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}
