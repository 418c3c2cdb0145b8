export { RECORD_KINDS, type BrokerRecord, type RecordKind, type StoredRecord } from './record.js';
export type {
  Broker,
  BusMessage,
  MessageBus,
  RecordQuery,
  RecordStore,
  RetentionPolicy,
  RetentionReport,
  StoreStats,
  SubscribeOptions,
  Subscription,
} from './broker.js';
export { BrokerCode } from './codes.js';
export { openBroker, type BrokerOptions } from './open.js';
export { parseBusAddress, parseStoreAddress, type BusAddress, type StoreAddress } from './address.js';
export { checkPattern, checkSubject, subjectMatches } from './subject.js';
export { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from './validate.js';
