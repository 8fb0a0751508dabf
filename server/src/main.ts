#!/usr/bin/env node
import {parseArgs} from 'node:util';
import {pino} from 'pino';
import {defaultConfig, type ServerConfig} from './config.js';
import {startEventStoreServer} from './createEventStoreServer.js';

const usage = `Usage: npm start -- [options]

Starts the EduPulse event store on an embedded LevelDB.

Options (each also read from the environment variable shown):
  --host HOST        address to listen on      EDUPULSE_HOST      (default ${defaultConfig.host})
  --port PORT        port, 0 for any free one  EDUPULSE_PORT      (default ${defaultConfig.port})
  --data-dir DIR     LevelDB data directory    EDUPULSE_DATA_DIR  (default ${defaultConfig.dataDir})
  --no-fsync         acknowledge appends before they are fsync'd: faster, but a
                     machine crash can lose the last acknowledged appends
                                               EDUPULSE_FSYNC=false
  --log-level LEVEL  trace|debug|info|warn|error|silent
                                               EDUPULSE_LOG_LEVEL (default ${defaultConfig.logLevel})
  -h, --help         this text
`;

/** Reads the configuration from flags, then environment variables, then defaults. */
function readConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const {values} = parseArgs({
    args: argv,
    options: {
      host: {type: 'string'},
      port: {type: 'string'},
      'data-dir': {type: 'string'},
      fsync: {type: 'boolean'},
      'no-fsync': {type: 'boolean'},
      'log-level': {type: 'string'},
      help: {type: 'boolean', short: 'h'},
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const portText = values.port ?? env.EDUPULSE_PORT ?? String(defaultConfig.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    throw new Error(`--port / EDUPULSE_PORT must be a port number from 0 to 65535, got "${portText}"`);
  }
  const fsyncEnv = env.EDUPULSE_FSYNC;
  if (fsyncEnv !== undefined && !['true', 'false', '1', '0'].includes(fsyncEnv)) {
    throw new Error(`EDUPULSE_FSYNC must be true or false, got "${fsyncEnv}"`);
  }
  const fsync =
    values['no-fsync'] === true ? false : (values.fsync ?? (fsyncEnv === undefined ? true : ['true', '1'].includes(fsyncEnv)));
  const logLevel = values['log-level'] ?? env.EDUPULSE_LOG_LEVEL ?? defaultConfig.logLevel;
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new Error(`--log-level / EDUPULSE_LOG_LEVEL must be trace, debug, info, warn, error or silent, got "${logLevel}"`);
  }
  return {
    ...defaultConfig,
    host: values.host ?? env.EDUPULSE_HOST ?? defaultConfig.host,
    port,
    dataDir: values['data-dir'] ?? env.EDUPULSE_DATA_DIR ?? defaultConfig.dataDir,
    fsync,
    logLevel,
  };
}

async function main(): Promise<void> {
  let config: ServerConfig;
  try {
    config = readConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`edupulse-event-store: ${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  const logger = pino({level: config.logLevel});
  if (!config.fsync) logger.warn('fsync is off: a machine crash can lose acknowledged appends');
  const server = await startEventStoreServer(config, logger);
  // Tests and scripts that start the server on port 0 read the real address from this line.
  process.stdout.write(`EDUPULSE_LISTENING ${server.address}\n`);

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    if (signals > 1) {
      logger.warn({signal}, 'second signal: exiting without waiting');
      process.exit(1);
    }
    logger.info({signal}, 'shutting down');
    server.shutdown().then(
      () => process.exit(0),
      error => {
        logger.error({err: error}, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch(error => {
  process.stderr.write(`edupulse-event-store: failed to start: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
