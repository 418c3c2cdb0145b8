/**
 * `bin/flowtap.js` for whichever build this file was compiled into: bin/ always starts the tree
 * in dist/, and a bench compiled elsewhere must time the command line it was built with.
 */
import { main } from '../src/cli/index.js';

process.exitCode = await main(process.argv.slice(2));
