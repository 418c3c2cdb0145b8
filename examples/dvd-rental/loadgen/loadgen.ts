/**
 * Load generator for the DVD-rental application.
 *   node loadgen.js --contract-update URL --user-create URL --dvd-return URL --requests 500 --rate 100
 * Prints a JSON summary on stdout; exits 1 when the error rate exceeds --max-error-rate, 2 on bad flags.
 */
import { pathToFileURL } from 'node:url';
import { parseCli, USAGE } from './options.js';
import { runLoad } from './run-load.js';

export { runLoad, type LoadSummary, type RequestRecord, type Operation } from './run-load.js';
export { parseCli, type LoadOptions, type CliOptions } from './options.js';

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCli(argv);
  if (!parsed.ok) {
    process.stderr.write(`loadgen: ${parsed.error}\n${USAGE}\n`);
    return 2;
  }
  const summary = await runLoad(parsed.value);
  const passed = summary.errorRate <= parsed.value.maxErrorRate;
  process.stdout.write(`${JSON.stringify({ ...summary, maxErrorRate: parsed.value.maxErrorRate, passed }, null, 2)}\n`);
  return passed ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
