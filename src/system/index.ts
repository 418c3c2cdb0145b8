export type { ExitStatus, RunOptions, RunResult, SpawnOptions, Spawned, System } from './system.js';
export { inNamespace } from './system.js';
export { realSystem } from './real.js';
export { RecordingSystem, type RecordedCall, type Responder } from './fake.js';
export { mustRun } from './must-run.js';
