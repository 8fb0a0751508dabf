// The LevelDB store's options for the contract tests, shared by the test
// process and the crash writer: the server's defaults, fsync on.
export function levelDbOptions(dataDir, config, logger, overrides = {}) {
  return {
    dataDir,
    fsync: true,
    maxQueuedAppendBytes: config.maxQueuedAppendBytes,
    streamHeadCacheSize: config.streamHeadCacheSize,
    maxLoadedTenants: config.maxLoadedTenants,
    readLogScanLimit: config.readLogScanLimit,
    readPageBytes: config.readPageBytes,
    liveBuffer: {maxEvents: overrides.liveBufferEvents ?? config.liveBufferEvents, maxBytes: config.liveBufferBytes},
    liveBufferTotalBytes: config.liveBufferTotalBytes,
    subscriptions: {memoryBytes: 4 << 20, maxRunning: 100, readChunk: 128, checkpointEveryEvents: 4096, checkpointIntervalMs: 1000},
    logger,
  };
}
