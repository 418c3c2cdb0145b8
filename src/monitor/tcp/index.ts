export { ConnTracker, type ConnTrackerOptions, type ConnTrackerStats } from './conn-tracker.js';
export { Connection, type Direction } from './connection.js';
