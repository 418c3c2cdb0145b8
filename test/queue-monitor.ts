/**
 * The inline monitor in queue mode as a process, for the root tests and bench/inline.ts (run
 * inside a monitor namespace): `node queue-monitor.js APP_YAML ADDRESSING LOG_DIR`. Prints READY
 * on stderr once both queues are bound; SIGTERM unbinds them and closes the logs. The engine's
 * wiring here is what `flowtap monitor --inline` will do once run-monitor.ts takes the queue mode.
 */
import {
  chooseAnalyzer,
  createQueueInline,
  DirLogTarget,
  INLINE_LOG,
  loadMonitorModel,
  MonitorEngine,
  ZeekLogWriter,
} from '../src/monitor/index.js';

const [app, addressing, logDir] = process.argv.slice(2);
const loaded = loadMonitorModel(app, addressing);
if (!loaded.ok) {
  console.error(JSON.stringify(loaded.errors));
  process.exit(2);
}
const logs = new ZeekLogWriter(new DirLogTarget(logDir), { format: 'json' });
let engine: MonitorEngine | null = null;
const run = createQueueInline(
  {},
  (ip, port) => chooseAnalyzer(engine!.policy.view, ip, port) !== null,
  (row) => logs.write(INLINE_LOG, row),
);
engine = new MonitorEngine({ model: loaded.value, logs, observer: run.observer });
engine.policy.decisions = (d) => run.decision(d);
const problems = await run.start(engine);
if (problems.length) {
  console.error(JSON.stringify(problems));
  process.exit(2);
}
console.error('READY');
process.once('SIGTERM', () => {
  run.stop();
  console.error(JSON.stringify({ summary: run.summary(), diagnostics: run.diagnostics() }));
  engine!.finish();
  process.exit(0);
});
