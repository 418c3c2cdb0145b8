/**
 * The entry point of the processes `flowtap up` starts (the node agents, the relay): `main` of
 * the build this file belongs to, then exit with its code — a daemon must not linger on a
 * handle it left open once it has stopped.
 */
import { main } from './main.js';

process.exit(await main(process.argv.slice(2)));
