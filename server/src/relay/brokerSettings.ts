import type {RelayFormat} from './relayedMessage.js';

/** Where and how the relay publishes: the `--event-broker-*` settings. */
export type BrokerSettings = {
  /** NATS server URLs, comma-separated: `nats://host:port`, or `tls://host:port` for TLS. */
  url: string;
  /** Subjects are `<subjectPrefix>.<tenant>.<event type>`. */
  subjectPrefix: string;
  /** NATS token, or none. */
  token: string | undefined;
  /** The JetStream stream that captures `<subjectPrefix>.>`. */
  streamName: string;
  /** Create the stream when missing (and allow atomic batches on it); false only checks it. */
  createStream: boolean;
  format: RelayFormat;
  /** Personal events: published without their data and metadata (`withhold`), or whole (`include`). */
  personalData: 'withhold' | 'include';
  /** The duplicate window of a stream the relay creates. */
  duplicateWindowMs: number;
  /** CA bundle (PEM) that the NATS server's certificate must chain to, for `tls://`; none uses Node's. */
  tlsCaFile: string | undefined;
};

/** The servers of a {@link BrokerSettings.url}, checked: each a `nats://` or `tls://` URL with a host. Throws a message. */
export function brokerServers(url: string): {servers: string[]; tls: boolean} {
  const servers = url.split(',').map(s => s.trim());
  let tls = false;
  for (const server of servers) {
    let parsed: URL;
    try {
      parsed = new URL(server);
    } catch {
      throw new Error(`must be nats://host:port or tls://host:port (comma-separated for several), got "${server}"`);
    }
    if (parsed.protocol !== 'nats:' && parsed.protocol !== 'tls:') {
      throw new Error(`must use nats:// or tls://, got "${server}"`);
    }
    if (parsed.hostname === '') throw new Error(`must name a host, got "${server}"`);
    if (parsed.username !== '' || parsed.password !== '') {
      throw new Error('must not carry credentials: give the token with --event-broker-token (EDUPULSE_EVENT_BROKER_TOKEN)');
    }
    if (parsed.protocol === 'tls:') tls = true;
  }
  return {servers: servers.map(s => s.replace(/^(nats|tls):\/\//, '')), tls};
}

/** A JetStream stream name: no whitespace, `.`, `*`, `>`, path separators or control characters. */
export function isStreamName(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return text.length > 0 && text.length <= 255 && !/[\s.*>/\\\u0000-\u001f\u007f]/.test(text);
}
