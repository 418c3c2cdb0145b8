#!/usr/bin/env node
import * as nodeModule from 'node:module';

// Node 22.1+ keeps V8's compiled code between runs, which shortens every start-up after the first;
// Node 20 has no such cache and skips this.
nodeModule.enableCompileCache?.();
const { main } = await import('../dist/src/cli/index.js');

// `flowtap ... | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = await main(process.argv.slice(2));
