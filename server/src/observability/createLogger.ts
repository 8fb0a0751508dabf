import {pino, type DestinationStream, type Logger} from 'pino';
import {PinoPretty} from 'pino-pretty';

/** How log lines are written: JSON lines, or lines for a person at a terminal. */
export type LogFormat = 'json' | 'pretty';

/**
 * The server's logger: ISO 8601 times and level names (`"level":"info"`), as
 * JSON lines on `destination` (standard output by default), or in `pretty`
 * form, one coloured line per entry with its fields after it.
 */
export function createLogger(level: string, format: LogFormat, destination?: DestinationStream): Logger {
  const options = {level, timestamp: pino.stdTimeFunctions.isoTime, formatters: {level: (label: string) => ({level: label})}};
  if (format === 'json') return destination === undefined ? pino(options) : pino(options, destination);
  // The pretty stream reads the JSON lines; level names arrive as labels, which it understands.
  const pretty = PinoPretty({
    colorize: destination === undefined && process.stdout.isTTY,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    // Written before the call returns: nothing is lost when the process exits right after.
    sync: true,
    ...(destination === undefined ? {} : {destination}),
  });
  return pino(options, pretty);
}
