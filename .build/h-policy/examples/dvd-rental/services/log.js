export function createLogger(service, write = defaultWrite) {
    return {
        service,
        info(fields) {
            write(JSON.stringify({ ts: new Date().toISOString(), svc: service, ...fields }));
        },
        error(message, fields = {}) {
            write(JSON.stringify({ ts: new Date().toISOString(), svc: service, level: 'error', error: message, ...fields }));
        },
    };
}
function defaultWrite(line) {
    process.stdout.write(`${line}\n`);
}
export function errorMessage(err) {
    return err instanceof Error ? err.message : String(err);
}
//# sourceMappingURL=log.js.map