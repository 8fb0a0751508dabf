import type {RelayFormat} from '../relay/relayedMessage.js';

/** Limits on requests. Each is documented in docs/configuration.md or docs/api.md, and configurable. */
export type Limits = {
  /** Longest tenant name. */
  maxTenantLength: number;
  /** Longest stream name. */
  maxStreamLength: number;
  /** Longest event type. */
  maxEventTypeLength: number;
  /** Longest correlation, causation or actor id. */
  maxReferenceLength: number;
  /** Most bytes of one event: data plus metadata keys and values. */
  maxEventBytes: number;
  /** Most events in one append. */
  maxEventsPerAppend: number;
  /** Most bytes of all events of one append together. */
  maxAppendBytes: number;
  /** Most metadata entries per event. */
  maxMetadataEntries: number;
  /** Longest metadata key. */
  maxMetadataKeyLength: number;
  /** Longest metadata value. */
  maxMetadataValueLength: number;
  /** Most events one read returns. */
  maxReadCount: number;
  /** Most entries in one filter, all lists together. */
  maxFilterEntries: number;
};

/** Everything the server needs to run; see `defaultConfig` and `settings.ts`. */
export type ServerConfig = {
  host: string;
  port: number;
  dataDir: string;
  /** A libpq URL: the store is in this PostgreSQL database, shared with other servers; undefined keeps it in `dataDir`. */
  postgresUrl: string | undefined;
  /** Connections to PostgreSQL each server keeps at most. */
  postgresPoolSize: number;
  /** PostgreSQL cancels a statement of the store's that runs longer (the request gets UNAVAILABLE). */
  postgresStatementTimeoutMs: number;
  /** fsync each commit before acknowledging appends (the safe default). */
  fsync: boolean;
  /** NATS server URL(s) the relay publishes to; undefined: no relay. */
  eventBrokerUrl: string | undefined;
  /** Subject prefix of relayed events: `<prefix>.<tenant>.<event type>`. */
  eventBrokerSubject: string;
  /** NATS token. */
  eventBrokerToken: string | undefined;
  /** JetStream stream that captures the relayed subjects. */
  eventBrokerStream: string;
  /** Create the stream when missing; false only checks it. */
  eventBrokerCreateStream: boolean;
  /** Payload of relayed messages. */
  eventBrokerFormat: RelayFormat;
  /** Duplicate window of a stream the relay creates. */
  eventBrokerDuplicateWindowMs: number;
  /** CA (PEM) for a `tls://` NATS server. */
  eventBrokerTlsCaFile: string | undefined;
  /** What the relay publishes of personal events: `withhold` their data and metadata, or `include` them. */
  eventBrokerPersonalData: 'withhold' | 'include';
  /** A file holding the master key that wraps data subjects' keys. */
  masterKeyFile: string | undefined;
  /** The master key itself (hex or base64), when no file is given. */
  masterKey: string | undefined;
  /** Time between passes of the removal of what retention and deletion hide. */
  removalIntervalMs: number;
  /** Events the removal takes out of storage per second at most. */
  removalRate: number;
  /** The clock that streams' max ages are measured by (tests set their own); undefined: Date.now. */
  clock?: () => number;
  /** How long a server holds a tenant's relay without renewing it (several servers on PostgreSQL). */
  eventBrokerLeaseMs: number;
  /** Lease on a part of a consumer group (PostgreSQL: how soon another server takes over). */
  consumerGroupLeaseMs: number;
  /** How long a consumer group stays loaded after its last consumer on this server left (no flag: tests set it). */
  consumerGroupIdleMs: number;
  /** JSON file of hashed API keys; without it the server runs open (loopback only, unless `insecureNoAuth`). */
  keysFile: string | undefined;
  /** Allow running without API keys on a non-loopback address. */
  insecureNoAuth: boolean;
  /** TLS certificate chain (PEM); with `tlsKeyFile` it turns TLS on. */
  tlsCertFile: string | undefined;
  /** TLS private key (PEM). */
  tlsKeyFile: string | undefined;
  /** CA bundle (PEM) that client certificates must chain to; turns on mutual TLS. */
  tlsClientCaFile: string | undefined;
  /** Address of the Prometheus metrics endpoint. */
  metricsHost: string;
  /** Port of the metrics endpoint; 0 picks a free one, undefined turns it off. */
  metricsPort: number | undefined;
  limits: Limits;
  /** Bound of the append queue in payload bytes; past it appends get RESOURCE_EXHAUSTED. */
  maxQueuedAppendBytes: number;
  /** Events kept per tenant for live subscribers. */
  liveBufferEvents: number;
  /** Bytes kept per tenant for live subscribers. */
  liveBufferBytes: number;
  /** Bytes kept for live subscribers by all tenants together; the largest buffers give way first. */
  liveBufferTotalBytes: number;
  /** Stream heads kept in memory. */
  streamHeadCacheSize: number;
  /**
   * Tenants kept in memory (about 1.5 KiB each) while idle: no append on its
   * way, no subscription. Past it the least recently used idle ones are
   * unloaded, and load again (one read) on next use.
   */
  maxLoadedTenants: number;
  /** Most events a filtered ReadLog call scans before returning a page. */
  readLogScanLimit: number;
  /**
   * Most bytes of events in one ReadStream or ReadLog page (a page always
   * holds at least one event, so it can reach this plus one event): a read
   * of large events comes back in more pages, not in one huge message.
   */
  readPageBytes: number;
  /**
   * Bytes of subscription messages the server may hold, across all
   * subscriptions: each holds at most two messages (the one the transport is
   * writing and the next), so batches are this divided by twice the number of
   * subscriptions, within 16 KiB..1 MiB.
   */
  subscriptionMemoryBytes: number;
  /** Subscriptions the server runs at once; one more is refused with RESOURCE_EXHAUSTED. */
  maxSubscriptions: number;
  /** How long shutdown waits for calls to finish before cutting them off. */
  shutdownGraceMs: number;
  /** pino log level. */
  logLevel: string;
  /** How log lines are written: JSON lines, pretty lines for a terminal, or `auto` (pretty when standard output is a terminal). */
  logFormat: 'auto' | 'json' | 'pretty';
};

const MiB = 1024 * 1024;

/** Safe defaults: loopback only, fsync on, data in ./data. */
export const defaultConfig: ServerConfig = {
  host: '127.0.0.1',
  port: 50051,
  dataDir: './data',
  postgresUrl: undefined,
  postgresPoolSize: 10,
  postgresStatementTimeoutMs: 30_000,
  fsync: true,
  eventBrokerUrl: undefined,
  eventBrokerSubject: 'edupulse.events',
  eventBrokerToken: undefined,
  eventBrokerStream: 'EDUPULSE_EVENTS',
  eventBrokerCreateStream: true,
  eventBrokerFormat: 'protobuf',
  eventBrokerDuplicateWindowMs: 120_000,
  eventBrokerTlsCaFile: undefined,
  eventBrokerPersonalData: 'withhold',
  masterKeyFile: undefined,
  masterKey: undefined,
  removalIntervalMs: 60_000,
  removalRate: 10_000,
  eventBrokerLeaseMs: 15_000,
  consumerGroupLeaseMs: 15_000,
  consumerGroupIdleMs: 5000,
  keysFile: undefined,
  insecureNoAuth: false,
  tlsCertFile: undefined,
  tlsKeyFile: undefined,
  tlsClientCaFile: undefined,
  metricsHost: '127.0.0.1',
  metricsPort: 9464,
  limits: {
    maxTenantLength: 64,
    maxStreamLength: 200,
    maxEventTypeLength: 200,
    maxReferenceLength: 200,
    maxEventBytes: 1 * MiB,
    maxEventsPerAppend: 1000,
    maxAppendBytes: 4 * MiB,
    maxMetadataEntries: 64,
    maxMetadataKeyLength: 128,
    maxMetadataValueLength: 4096,
    maxReadCount: 1000,
    maxFilterEntries: 100,
  },
  maxQueuedAppendBytes: 64 * MiB,
  liveBufferEvents: 16_384,
  liveBufferBytes: 32 * MiB,
  liveBufferTotalBytes: 256 * MiB,
  streamHeadCacheSize: 100_000,
  maxLoadedTenants: 10_000,
  readLogScanLimit: 10_000,
  // Below the 4 MiB that gRPC clients receive by default, even with one maximal event on top.
  readPageBytes: 1 * MiB,
  // Each subscription holds at most two messages (server/src/handoff.ts): 1 MiB batches
  // for up to 32 subscriptions, 256 KiB for 128, smaller beyond.
  subscriptionMemoryBytes: 64 * MiB,
  // At the 16 KiB batches of that many, at most 640 MiB of messages held (two each), were they all stalled.
  maxSubscriptions: 10_000,
  shutdownGraceMs: 10_000,
  logLevel: 'info',
  logFormat: 'auto',
};
