export { forkWorkers, type WorkerLauncher } from './launcher.js';
export { createQueueWorkers, type QueueWorkerReport, type QueueWorkersRun } from './pool.js';
