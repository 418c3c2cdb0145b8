import { bad, good } from './checked.js';
import { createJsonServer } from './http-server.js';
import { createLogger, errorMessage } from './log.js';
export async function startService(service, source, log) {
    const started = await service.start(source, log);
    if (!started.ok)
        return started;
    const { port, bind, parts } = started.value;
    const json = createJsonServer(parts.routes, log);
    const listening = await new Promise((resolve) => {
        json.server.once('error', (err) => resolve(bad(`${service.name}: cannot listen on ${bind}:${port}: ${errorMessage(err)}`)));
        json.server.listen(port, bind, () => resolve(good(json.server.address().port)));
    });
    if (!listening.ok) {
        await parts.stop();
        return listening;
    }
    json.server.on('error', (err) => log.error(`server error: ${errorMessage(err)}`));
    let stopping;
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
export async function runService(service, source = process.env) {
    const log = createLogger(service.name);
    const running = await startService(service, source, log);
    if (!running.ok) {
        log.error(running.error);
        process.exitCode = 2;
        return;
    }
    log.info({ event: 'listening', bind: running.value.bind, port: running.value.port });
    const shutdown = (signal) => {
        log.info({ event: 'shutdown', signal });
        const force = setTimeout(() => {
            log.error('shutdown timed out');
            process.exit(1);
        }, 10_000);
        force.unref();
        running.value.stop().then(() => {
            log.info({ event: 'stopped' });
            process.exit(0);
        }, (err) => {
            log.error(`shutdown failed: ${errorMessage(err)}`);
            process.exit(1);
        });
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
}
//# sourceMappingURL=lifecycle.js.map