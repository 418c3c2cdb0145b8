/**
 * flowtap's REST API: `startApiServer` serves the routes of docs/api.md, the metrics and the
 * dashboard over a Fleet (LocalFleet: the deployments of a state folder); the token store is
 * what `flowtap token` issues and revokes from.
 */
export { startApiServer, type ApiServer } from './start.js';
export { LocalFleet } from './local-fleet.js';
export { issueToken, listTokens, revokeToken, tokenFile, type TokenEntry } from './tokens.js';
