import {Command, Option} from 'commander';
import {createLogger} from '../server/src/observability/createLogger.js';
import {startEventStoreServer} from '../server/src/startEventStoreServer.js';
import {resolveServerConfig, settings} from '../server/src/config/settings.js';

/** `edupulse-es serve`: runs the server until SIGINT/SIGTERM (a second signal exits at once); SIGHUP reloads the keys file. */
export function serveCommand(): Command {
  const command = new Command('serve').description(
    'start the event store server on an embedded LevelDB, or on PostgreSQL (--postgres-url)',
  );
  for (const setting of settings) {
    command.addOption(new Option(setting.flag, `${setting.description} [${setting.env}, default ${setting.defaultText}]`));
  }
  return command.action(async (flags: Record<string, unknown>) => {
    const config = resolveServerConfig(flags, process.env);
    const format = config.logFormat === 'auto' ? (process.stdout.isTTY ? 'pretty' : 'json') : config.logFormat;
    const logger = createLogger(config.logLevel, format);
    if (!config.fsync && config.postgresUrl === undefined) logger.warn('fsync is off: a machine crash can lose acknowledged appends');
    const server = await startEventStoreServer(config, logger);
    // Scripts that start the server on port 0 read the real address from this line.
    process.stdout.write(`EDUPULSE_LISTENING ${server.address}\n`);
    if (server.metricsPort !== undefined) process.stdout.write(`EDUPULSE_METRICS ${config.metricsHost}:${server.metricsPort}\n`);

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
        (error: unknown) => {
          logger.error({err: error}, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // A key rotated in the keys file takes effect without a restart.
    process.on('SIGHUP', () => {
      try {
        const reloaded = server.reloadKeys();
        if (reloaded === undefined) logger.warn('SIGHUP: no --keys-file to reload');
        else logger.info({keys: reloaded.keys, keysFile: config.keysFile}, 'SIGHUP: reloaded the API keys');
      } catch (error) {
        logger.error({err: error, keysFile: config.keysFile}, 'SIGHUP: the keys file does not load; the keys stay as they were');
      }
    });
  });
}
