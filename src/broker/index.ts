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
export { openBroker } from './open.js';
export { parseBusAddress, parseStoreAddress } from './address.js';
export { MAX_QUERY_LIMIT } from './validate.js';
