/** One JSON object per line on stdout: easy to grep for a trace id, safe against log injection. */
type LogFields = Record<string, unknown>;

export interface Logger {
  readonly service: string;
  info(fields: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createLogger(service: string, write: (line: string) => void = defaultWrite): Logger {
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

function defaultWrite(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
