export {
  MonitorEngine,
  mergePolicyOptions,
  type MonitorEngineOptions,
  type MonitorSummary,
  type PolicyOverrides,
} from './monitor-engine.js';
export { runMonitor, formatNotice, formatRunReport, type RunMonitorOptions, type MonitorRunResult } from './run-monitor.js';
export { loadMonitorModel, parseAddressing } from './load-model.js';
export { chooseAnalyzer, type AnalyzerKind } from './analyzer-choice.js';
