import {isIP} from 'node:net';
import {defaultConfig, type ServerConfig} from './config.js';
import {brokerServers, isStreamName} from '../relay/brokerSettings.js';
import {isSubjectPrefix} from '../relay/subjectNames.js';

/** A setting of the server: one flag, one environment variable, one line of docs/configuration.md's table. */
export type Setting = {
  /** The flag as commander declares it, e.g. `--port <port>` or `--no-fsync`. */
  flag: string;
  /** The environment variable, e.g. `EDUPULSE_PORT`. */
  env: string;
  /** The default as shown to people. */
  defaultText: string;
  description: string;
  /** Parses a flag or variable value (booleans get "true"/"false") and sets it; throws a message on bad input. */
  apply(config: ServerConfig, text: string): void;
};

/** A setting's value is invalid: the message names the setting. */
export class InvalidSettingError extends Error {
  override readonly name = 'InvalidSettingError';
}

const MiB = 1024 * 1024;

function integer(text: string, min: number, max: number, what: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new Error(`must be ${what} from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function boolean(text: string): boolean {
  const value = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new Error(`must be true or false, got "${text}"`);
}

function nonEmpty(text: string): string {
  if (text.trim() === '') throw new Error('must not be empty');
  return text;
}

function limit(key: keyof ServerConfig['limits'], flag: string, env: string, description: string, max: number): Setting {
  return {
    flag: `--${flag} <n>`,
    env,
    defaultText: String(defaultConfig.limits[key]),
    description,
    apply: (c, t) => {
      c.limits = {...c.limits, [key]: integer(t, 1, max, 'a whole number')};
    },
  };
}

/** Every server setting. The table of docs/configuration.md lists exactly these (a test checks). */
export const settings: readonly Setting[] = [
  {
    flag: '--host <host>',
    env: 'EDUPULSE_HOST',
    defaultText: defaultConfig.host,
    description: 'address to listen on; other than loopback it needs API keys (or --insecure-no-auth)',
    apply: (c, t) => {
      if (isIP(t) === 0 && t !== 'localhost') throw new Error(`must be an IP address or "localhost", got "${t}"`);
      c.host = t;
    },
  },
  {
    flag: '--port <port>',
    env: 'EDUPULSE_PORT',
    defaultText: String(defaultConfig.port),
    description: 'port; 0 picks a free one',
    apply: (c, t) => (c.port = integer(t, 0, 65535, 'a port number')),
  },
  {
    flag: '--data-dir <dir>',
    env: 'EDUPULSE_DATA_DIR',
    defaultText: defaultConfig.dataDir,
    description: 'the data directory, holding the log and its indexes in two LevelDBs (created when missing)',
    apply: (c, t) => (c.dataDir = nonEmpty(t)),
  },
  {
    flag: '--postgres-url <url>',
    env: 'EDUPULSE_POSTGRES_URL',
    defaultText: '(none: LevelDB)',
    description:
      'keep the store in this PostgreSQL database (a libpq URL, e.g. postgres://edupulse@db:5432/events; the password may come from PGPASSWORD), shared by any number of servers; --data-dir is then unused',
    apply: (c, t) => {
      if (!/^postgres(ql)?:\/\//.test(t)) throw new Error(`must be a URL starting with postgres:// or postgresql://, got "${t}"`);
      c.postgresUrl = t;
    },
  },
  {
    flag: '--postgres-pool-size <n>',
    env: 'EDUPULSE_POSTGRES_POOL_SIZE',
    defaultText: String(defaultConfig.postgresPoolSize),
    description: 'connections to PostgreSQL per server (appends use two, reads and subscriptions share the rest)',
    apply: (c, t) => (c.postgresPoolSize = integer(t, 3, 1000, 'a whole number')),
  },
  {
    flag: '--postgres-statement-timeout-ms <ms>',
    env: 'EDUPULSE_POSTGRES_STATEMENT_TIMEOUT_MS',
    defaultText: String(defaultConfig.postgresStatementTimeoutMs),
    description: "PostgreSQL cancels the store's statements that run longer; the request gets UNAVAILABLE",
    apply: (c, t) => (c.postgresStatementTimeoutMs = integer(t, 100, 3_600_000, 'milliseconds')),
  },
  {
    flag: '--no-fsync',
    env: 'EDUPULSE_FSYNC',
    defaultText: 'true',
    description: "acknowledge appends before they are fsync'd: faster, but a machine crash can lose the last ones",
    apply: (c, t) => (c.fsync = boolean(t)),
  },
  {
    flag: '--event-broker-url <url>',
    env: 'EDUPULSE_EVENT_BROKER_URL',
    defaultText: '(none: no relay)',
    description:
      'relay every committed event to NATS JetStream at this URL (nats://host:4222, tls://host:4222 for TLS; comma-separated for a cluster), each once, in position order per tenant',
    apply: (c, t) => {
      brokerServers(t);
      c.eventBrokerUrl = t;
    },
  },
  {
    flag: '--event-broker-subject <prefix>',
    env: 'EDUPULSE_EVENT_BROKER_SUBJECT',
    defaultText: defaultConfig.eventBrokerSubject,
    description: 'subject prefix of relayed events, which go to PREFIX.TENANT.EVENT_TYPE',
    apply: (c, t) => {
      if (!isSubjectPrefix(t)) throw new Error(`must be tokens of letters, digits, "_" and "-" separated by dots, got "${t}"`);
      c.eventBrokerSubject = t;
    },
  },
  {
    flag: '--event-broker-token <token>',
    env: 'EDUPULSE_EVENT_BROKER_TOKEN',
    defaultText: '(none)',
    description: 'NATS authentication token (prefer the variable: a flag shows in the process list)',
    apply: (c, t) => (c.eventBrokerToken = nonEmpty(t)),
  },
  {
    flag: '--event-broker-stream <name>',
    env: 'EDUPULSE_EVENT_BROKER_STREAM',
    defaultText: defaultConfig.eventBrokerStream,
    description: 'the JetStream stream that captures PREFIX.>',
    apply: (c, t) => {
      if (!isStreamName(t)) throw new Error(`must be a JetStream stream name (no spaces, ".", "*", ">" or slashes), got "${t}"`);
      c.eventBrokerStream = t;
    },
  },
  {
    flag: '--no-event-broker-create-stream',
    env: 'EDUPULSE_EVENT_BROKER_CREATE_STREAM',
    defaultText: 'true',
    description: 'only check the stream (it must exist, capture PREFIX.> and allow atomic batches) instead of creating or updating it',
    apply: (c, t) => (c.eventBrokerCreateStream = boolean(t)),
  },
  {
    flag: '--event-broker-format <format>',
    env: 'EDUPULSE_EVENT_BROKER_FORMAT',
    defaultText: defaultConfig.eventBrokerFormat,
    description: 'payload of relayed messages: protobuf (the RecordedEvent as stored) or json (its proto3 JSON)',
    apply: (c, t) => {
      if (t !== 'protobuf' && t !== 'json') throw new Error(`must be protobuf or json, got "${t}"`);
      c.eventBrokerFormat = t;
    },
  },
  {
    flag: '--event-broker-personal-data <mode>',
    env: 'EDUPULSE_EVENT_BROKER_PERSONAL_DATA',
    defaultText: defaultConfig.eventBrokerPersonalData,
    description:
      'what the relay publishes of personal events: withhold (the envelope only: no data, no metadata, header EduPulse-Personal-Data-Withheld) or include (in plaintext, beyond the reach of erasure)',
    apply: (c, t) => {
      if (t !== 'withhold' && t !== 'include') throw new Error(`must be withhold or include, got "${t}"`);
      c.eventBrokerPersonalData = t;
    },
  },
  {
    flag: '--event-broker-duplicate-window-ms <ms>',
    env: 'EDUPULSE_EVENT_BROKER_DUPLICATE_WINDOW_MS',
    defaultText: String(defaultConfig.eventBrokerDuplicateWindowMs),
    description: 'duplicate window (Nats-Msg-Id) of a stream the relay creates',
    apply: (c, t) => (c.eventBrokerDuplicateWindowMs = integer(t, 1000, 7 * 24 * 3_600_000, 'milliseconds')),
  },
  {
    flag: '--event-broker-tls-ca <file>',
    env: 'EDUPULSE_EVENT_BROKER_TLS_CA',
    defaultText: "(none: Node's CAs)",
    description: "CA (PEM) the NATS server's certificate must chain to, for tls:// URLs",
    apply: (c, t) => (c.eventBrokerTlsCaFile = nonEmpty(t)),
  },
  {
    flag: '--event-broker-lease-ms <ms>',
    env: 'EDUPULSE_EVENT_BROKER_LEASE_MS',
    defaultText: String(defaultConfig.eventBrokerLeaseMs),
    description:
      "how long a server holds a tenant's relay without renewing it (renewed every third of it): with several servers on PostgreSQL, how soon another takes over from one that died",
    apply: (c, t) => (c.eventBrokerLeaseMs = integer(t, 1000, 3_600_000, 'milliseconds')),
  },
  {
    flag: '--consumer-group-lease-ms <ms>',
    env: 'EDUPULSE_CONSUMER_GROUP_LEASE_MS',
    defaultText: String(defaultConfig.consumerGroupLeaseMs),
    description:
      'how long a server holds a part of a consumer group without renewing it (renewed every third of it): with several servers on PostgreSQL, how soon another takes over from one that died',
    apply: (c, t) => (c.consumerGroupLeaseMs = integer(t, 1000, 3_600_000, 'milliseconds')),
  },
  {
    flag: '--master-key-file <file>',
    env: 'EDUPULSE_MASTER_KEY_FILE',
    defaultText: '(none)',
    description:
      "file holding the master key (256 bits: 64 hex digits or base64) that wraps data subjects' keys; without one (or EDUPULSE_MASTER_KEY) personal events are refused. Keep it out of the data directory and its backups",
    apply: (c, t) => (c.masterKeyFile = nonEmpty(t)),
  },
  {
    flag: '--master-key <key>',
    env: 'EDUPULSE_MASTER_KEY',
    defaultText: '(none)',
    description: 'the master key itself, when there is no file; prefer the environment variable to the flag, which the process list shows',
    apply: (c, t) => (c.masterKey = nonEmpty(t)),
  },
  {
    flag: '--removal-interval-ms <ms>',
    env: 'EDUPULSE_REMOVAL_INTERVAL_MS',
    defaultText: String(defaultConfig.removalIntervalMs),
    description: 'time between passes of the background removal of the events that retention and deletion hide',
    apply: (c, t) => (c.removalIntervalMs = integer(t, 10, 86_400_000, 'milliseconds')),
  },
  {
    flag: '--removal-rate <events>',
    env: 'EDUPULSE_REMOVAL_RATE',
    defaultText: String(defaultConfig.removalRate),
    description: 'events per second that the background removal takes out of storage at most',
    apply: (c, t) => (c.removalRate = integer(t, 1, 1_000_000, 'events per second')),
  },
  {
    flag: '--log-level <level>',
    env: 'EDUPULSE_LOG_LEVEL',
    defaultText: defaultConfig.logLevel,
    description: 'trace, debug, info, warn, error or silent; logs go to standard output',
    apply: (c, t) => {
      if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(t)) {
        throw new Error(`must be trace, debug, info, warn, error or silent, got "${t}"`);
      }
      c.logLevel = t;
    },
  },
  {
    flag: '--log-format <format>',
    env: 'EDUPULSE_LOG_FORMAT',
    defaultText: defaultConfig.logFormat,
    description:
      'json (one JSON object per line: ISO time, level name, message, fields), pretty (a line for a person, coloured on a terminal) or auto (pretty when standard output is a terminal, json otherwise)',
    apply: (c, t) => {
      if (t !== 'auto' && t !== 'json' && t !== 'pretty') throw new Error(`must be auto, json or pretty, got "${t}"`);
      c.logFormat = t;
    },
  },
  {
    flag: '--keys-file <file>',
    env: 'EDUPULSE_KEYS_FILE',
    defaultText: '(none: open)',
    description: 'JSON file of hashed API keys (see `edupulse-es keys create`); turns authentication on',
    apply: (c, t) => (c.keysFile = nonEmpty(t)),
  },
  {
    flag: '--insecure-no-auth',
    env: 'EDUPULSE_INSECURE_NO_AUTH',
    defaultText: 'false',
    description: 'allow listening on a non-loopback address without API keys',
    apply: (c, t) => (c.insecureNoAuth = boolean(t)),
  },
  {
    flag: '--tls-cert <file>',
    env: 'EDUPULSE_TLS_CERT',
    defaultText: '(none: plaintext)',
    description: 'TLS certificate chain (PEM); needs --tls-key',
    apply: (c, t) => (c.tlsCertFile = nonEmpty(t)),
  },
  {
    flag: '--tls-key <file>',
    env: 'EDUPULSE_TLS_KEY',
    defaultText: '(none)',
    description: 'TLS private key (PEM); needs --tls-cert',
    apply: (c, t) => (c.tlsKeyFile = nonEmpty(t)),
  },
  {
    flag: '--tls-client-ca <file>',
    env: 'EDUPULSE_TLS_CLIENT_CA',
    defaultText: '(none)',
    description: 'CA (PEM) that client certificates must chain to: mutual TLS; needs --tls-cert',
    apply: (c, t) => (c.tlsClientCaFile = nonEmpty(t)),
  },
  {
    flag: '--metrics-host <host>',
    env: 'EDUPULSE_METRICS_HOST',
    defaultText: defaultConfig.metricsHost,
    description: 'address of the Prometheus endpoint (GET /metrics)',
    apply: (c, t) => {
      if (isIP(t) === 0 && t !== 'localhost') throw new Error(`must be an IP address or "localhost", got "${t}"`);
      c.metricsHost = t;
    },
  },
  {
    flag: '--metrics-port <port>',
    env: 'EDUPULSE_METRICS_PORT',
    defaultText: String(defaultConfig.metricsPort),
    description: 'port of the Prometheus endpoint; 0 picks a free one, "off" turns it off',
    apply: (c, t) => (c.metricsPort = t === 'off' ? undefined : integer(t, 0, 65535, 'a port number or "off"')),
  },
  limit('maxEventBytes', 'max-event-bytes', 'EDUPULSE_MAX_EVENT_BYTES', 'most bytes of one event (data + metadata)', 64 * MiB),
  limit('maxAppendBytes', 'max-append-bytes', 'EDUPULSE_MAX_APPEND_BYTES', 'most bytes of one append, all events', 256 * MiB),
  limit('maxEventsPerAppend', 'max-events-per-append', 'EDUPULSE_MAX_EVENTS_PER_APPEND', 'most events in one append', 100_000),
  limit('maxReadCount', 'max-read-count', 'EDUPULSE_MAX_READ_COUNT', 'most events one read returns', 100_000),
  limit('maxStreamLength', 'max-stream-length', 'EDUPULSE_MAX_STREAM_LENGTH', 'longest stream name', 1000),
  limit('maxTenantLength', 'max-tenant-length', 'EDUPULSE_MAX_TENANT_LENGTH', 'longest tenant name', 200),
  limit('maxEventTypeLength', 'max-event-type-length', 'EDUPULSE_MAX_EVENT_TYPE_LENGTH', 'longest event type', 1000),
  limit('maxMetadataEntries', 'max-metadata-entries', 'EDUPULSE_MAX_METADATA_ENTRIES', 'most metadata entries per event', 10_000),
  {
    flag: '--max-queued-append-bytes <n>',
    env: 'EDUPULSE_MAX_QUEUED_APPEND_BYTES',
    defaultText: String(defaultConfig.maxQueuedAppendBytes),
    description: 'bytes of appends waiting to commit; past it appends get RESOURCE_EXHAUSTED',
    apply: (c, t) => (c.maxQueuedAppendBytes = integer(t, 1, 16 * 1024 * MiB, 'a whole number')),
  },
  {
    flag: '--live-buffer-events <n>',
    env: 'EDUPULSE_LIVE_BUFFER_EVENTS',
    defaultText: String(defaultConfig.liveBufferEvents),
    description: 'events kept per tenant for live subscribers',
    apply: (c, t) => (c.liveBufferEvents = integer(t, 1, 10_000_000, 'a whole number')),
  },
  {
    flag: '--live-buffer-bytes <n>',
    env: 'EDUPULSE_LIVE_BUFFER_BYTES',
    defaultText: String(defaultConfig.liveBufferBytes),
    description: 'bytes kept per tenant for live subscribers',
    apply: (c, t) => (c.liveBufferBytes = integer(t, 1, 64 * 1024 * MiB, 'a whole number')),
  },
  {
    flag: '--live-buffer-total-bytes <n>',
    env: 'EDUPULSE_LIVE_BUFFER_TOTAL_BYTES',
    defaultText: String(defaultConfig.liveBufferTotalBytes),
    description: 'bytes kept for live subscribers by all tenants together (the largest buffers give way first)',
    apply: (c, t) => (c.liveBufferTotalBytes = integer(t, 1, 64 * 1024 * MiB, 'a whole number')),
  },
  {
    flag: '--read-page-bytes <n>',
    env: 'EDUPULSE_READ_PAGE_BYTES',
    defaultText: String(defaultConfig.readPageBytes),
    description: 'bytes of events in one ReadStream or ReadLog page (at least one event); more come in further pages',
    apply: (c, t) => (c.readPageBytes = integer(t, 1024, 64 * MiB, 'a whole number')),
  },
  {
    flag: '--subscription-memory-bytes <n>',
    env: 'EDUPULSE_SUBSCRIPTION_MEMORY_BYTES',
    defaultText: String(defaultConfig.subscriptionMemoryBytes),
    description: 'bytes of messages held for all subscribers; sets their batch size (16 KiB to 1 MiB)',
    apply: (c, t) => (c.subscriptionMemoryBytes = integer(t, MiB, 64 * 1024 * MiB, 'a whole number')),
  },
  {
    flag: '--max-subscriptions <n>',
    env: 'EDUPULSE_MAX_SUBSCRIPTIONS',
    defaultText: String(defaultConfig.maxSubscriptions),
    description: 'subscriptions run at once; one more is refused with RESOURCE_EXHAUSTED (the SDK retries it)',
    apply: (c, t) => (c.maxSubscriptions = integer(t, 1, 1_000_000, 'a whole number')),
  },
  {
    flag: '--max-loaded-tenants <n>',
    env: 'EDUPULSE_MAX_LOADED_TENANTS',
    defaultText: String(defaultConfig.maxLoadedTenants),
    description: 'tenants kept in memory while idle (no append on its way, no subscription); past it the least recently used are unloaded',
    apply: (c, t) => (c.maxLoadedTenants = integer(t, 1, 100_000_000, 'a whole number')),
  },
  {
    flag: '--shutdown-grace-ms <ms>',
    env: 'EDUPULSE_SHUTDOWN_GRACE_MS',
    defaultText: String(defaultConfig.shutdownGraceMs),
    description: 'how long shutdown waits for calls before cutting them off',
    apply: (c, t) => (c.shutdownGraceMs = integer(t, 0, 3_600_000, 'milliseconds')),
  },
];

/** The commander attribute name of a flag: `--data-dir <dir>` → `dataDir`, `--no-fsync` → `fsync`. */
export function attributeOf(setting: Setting): string {
  const name = setting.flag.split(' ')[0]!.replace(/^--(no-)?/, '');
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Builds the configuration: a flag wins over its environment variable, which
 * wins over the default. Then checks the settings together (TLS pairs, safe
 * exposure). Throws {@link InvalidSettingError} naming the setting.
 */
export function resolveServerConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ServerConfig {
  const config: ServerConfig = {...defaultConfig, limits: {...defaultConfig.limits}};
  for (const setting of settings) {
    const attribute = attributeOf(setting);
    const negated = setting.flag.startsWith('--no-');
    const fromFlag = flags[attribute];
    let text: string | undefined;
    if (typeof fromFlag === 'boolean') {
      // A negated flag given on the command line is false; a plain boolean flag is true.
      if (negated ? fromFlag === false : fromFlag) text = String(fromFlag);
    } else if (typeof fromFlag === 'string') {
      text = fromFlag;
    }
    text ??= env[setting.env];
    if (text === undefined) continue;
    try {
      setting.apply(config, text);
    } catch (error) {
      throw new InvalidSettingError(`${setting.flag.split(' ')[0]} / ${setting.env} ${(error as Error).message}`);
    }
  }
  if ((config.tlsCertFile === undefined) !== (config.tlsKeyFile === undefined)) {
    throw new InvalidSettingError('--tls-cert and --tls-key (EDUPULSE_TLS_CERT, EDUPULSE_TLS_KEY) go together');
  }
  if (config.tlsClientCaFile !== undefined && config.tlsCertFile === undefined) {
    throw new InvalidSettingError('--tls-client-ca (EDUPULSE_TLS_CLIENT_CA) needs --tls-cert and --tls-key');
  }
  if (config.eventBrokerTlsCaFile !== undefined && !(config.eventBrokerUrl !== undefined && brokerServers(config.eventBrokerUrl).tls)) {
    throw new InvalidSettingError('--event-broker-tls-ca (EDUPULSE_EVENT_BROKER_TLS_CA) needs a tls:// --event-broker-url');
  }
  if (config.keysFile === undefined && !isLoopback(config.host) && !config.insecureNoAuth) {
    throw new InvalidSettingError(
      `--host ${config.host} is reachable from other machines, but no --keys-file (EDUPULSE_KEYS_FILE) is set: ` +
        'anyone could read and write every tenant. Configure API keys, or pass --insecure-no-auth to accept that.',
    );
  }
  return config;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
