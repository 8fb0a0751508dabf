// The stores' options for the contract tests, shared by the test process and
// the crash writer: the server's defaults, fsync on.
function storeOptions(config, logger, overrides) {
  return {
    maxQueuedAppendBytes: config.maxQueuedAppendBytes,
    maxLoadedTenants: config.maxLoadedTenants,
    readLogScanLimit: config.readLogScanLimit,
    readPageBytes: config.readPageBytes,
    liveBuffer: {maxEvents: overrides.liveBufferEvents ?? config.liveBufferEvents, maxBytes: config.liveBufferBytes},
    liveBufferTotalBytes: config.liveBufferTotalBytes,
    subscriptions: {memoryBytes: 4 << 20, maxRunning: 100, readChunk: 128, checkpointEveryEvents: 4096, checkpointIntervalMs: 1000},
    logger,
  };
}

export function levelDbOptions(dataDir, config, logger, overrides = {}) {
  return {...storeOptions(config, logger, overrides), dataDir, fsync: true, streamHeadCacheSize: config.streamHeadCacheSize};
}

export function postgresOptions(url, config, logger, overrides = {}) {
  return {
    ...storeOptions(config, logger, overrides),
    postgres: {url, poolSize: config.postgresPoolSize, statementTimeoutMs: config.postgresStatementTimeoutMs},
  };
}
