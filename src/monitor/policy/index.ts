export { MonitorPolicy, DEFAULT_POLICY_OPTIONS, type PolicyOptions, type PolicyStats, type HttpRequestInput } from './monitor-policy.js';
export { NoticeType, type Notice, type NoticeSink, type NoticeTypeName, type ConnId, type Evidence } from './notice.js';
export { AppView, type Peer } from './app-view.js';
export { evaluateConnection, type ConnContext } from './connection-policy.js';
export { checkHttpRequest, checkSqlQuery, checkNatsSubject, describeHttpConstraint, type RequestVerdict } from './request-policy.js';
export {
  IntegrityTracker,
  DEFAULT_INTEGRITY_OPTIONS,
  type IntegrityOptions,
  type IntegrityStats,
  type TrackedRequest,
} from './integrity.js';
export { SynFloodDetector, DEFAULT_SYN_FLOOD_OPTIONS, failedAttempt, type SynFloodOptions } from './syn-flood.js';
export { pathMatches, requestPath, pathSegment } from './path-pattern.js';
export { subjectMatches, subjectCovers } from './subject-match.js';
export { sqlStatements, statementAllowed, isProbe, SESSION_CONTROL_WORDS, type SqlStatementInfo } from './sql-rules.js';
export { traceIdOf, httpIdentity, sqlIdentity, jsonIdentity, headerValue } from './identity.js';
export { Suppressor } from './suppressor.js';
export { OverloadDetector, DEFAULT_OVERLOAD_OPTIONS, type OverloadOptions } from './overload.js';
export { describeRequirements, type Decision, type DecisionSink } from './decision.js';
