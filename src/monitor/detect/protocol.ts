/** Protocols the monitor recognises by content, named as the application model names them (TLS aside). */
export type DetectedProtocol = 'http' | 'postgres' | 'nats' | 'tls';

/** A connection's protocol once its first bytes are judged; `undecided` while too few have arrived. */
export type Detection = DetectedProtocol | 'undecided' | 'none';

const SERVICE: Readonly<Record<DetectedProtocol, string>> = { http: 'http', postgres: 'postgresql', nats: 'nats', tls: 'ssl' };

/** conn.log's `service` for a protocol, as Zeek writes it (TLS is `ssl` there). */
export function serviceName(p: DetectedProtocol): string {
  return SERVICE[p];
}

export function isProtocol(d: Detection): d is DetectedProtocol {
  return d !== 'undecided' && d !== 'none';
}
