import {Command} from 'commander';
import type {StreamRetention} from '../client/src/index.js';
import {connect, printJsonLine, withConnection, type ConnectionFlags} from './connection.js';
import {wholeBigInt} from './wholeNumbers.js';

/** A retention as a JSON line shows it. */
export function retentionLine(retention: StreamRetention): Record<string, string> {
  const line: Record<string, string> = {};
  if (retention.maxCount !== undefined) line.maxCount = String(retention.maxCount);
  if (retention.maxAgeSeconds !== undefined) line.maxAgeSeconds = String(retention.maxAgeSeconds);
  if (retention.truncateBefore !== undefined) line.truncateBefore = String(retention.truncateBefore);
  return line;
}

const UNITS: Record<string, number> = {s: 1, m: 60, h: 3600, d: 86_400};

/** Seconds of a duration such as `90`, `90s`, `15m`, `12h` or `30d`. */
export function parseDuration(text: string): bigint {
  const match = /^(\d+)([smhd]?)$/.exec(text.trim());
  if (match === null) throw new Error(`--max-age must be a duration such as 90s, 15m, 12h or 30d, got "${text}"`);
  return BigInt(match[1]!) * BigInt(UNITS[match[2] || 's']!);
}

/** `erase`, `retention` and `delete`: what shortens what the store keeps. */
export function lifecycleCommands(): Command[] {
  const erase = withConnection(new Command('erase'))
    .description('erase a data subject (GDPR; needs an admin key): destroys its key, so its personal events read back erased')
    .argument('<subject>', 'the data_subject_id its personal events name')
    .action(async (subject: string, flags: ConnectionFlags) => {
      const store = connect(flags);
      try {
        const {position, keyDestroyed} = await store.eraseDataSubject(subject);
        printJsonLine({subject, keyDestroyed, recordedAt: {stream: '$erasures', position: String(position)}});
      } finally {
        store.close();
      }
    });

  const retention = withConnection(new Command('retention'))
    .description("show a stream's retention, or set it (the flags given replace the whole retention)")
    .argument('<stream>')
    .option('--max-count <n>', 'keep the last n events')
    .option('--max-age <duration>', 'keep events recorded within this long: 90s, 15m, 12h, 30d')
    .option('--truncate-before <revision>', 'no longer read the events below this revision')
    .option('--clear', 'remove every limit')
    .action(
      async (stream: string, flags: ConnectionFlags & {maxCount?: string; maxAge?: string; truncateBefore?: string; clear?: boolean}) => {
        const store = connect(flags);
        try {
          const setting = flags.maxCount !== undefined || flags.maxAge !== undefined || flags.truncateBefore !== undefined;
          if (setting && flags.clear === true) throw new Error('give either limits or --clear');
          if (setting || flags.clear === true) {
            await store.setStreamRetention(
              stream,
              flags.clear === true
                ? undefined
                : {
                    ...(flags.maxCount === undefined ? {} : {maxCount: wholeBigInt(flags.maxCount, '--max-count')}),
                    ...(flags.maxAge === undefined ? {} : {maxAgeSeconds: parseDuration(flags.maxAge)}),
                    ...(flags.truncateBefore === undefined ? {} : {truncateBefore: wholeBigInt(flags.truncateBefore, '--truncate-before')}),
                  },
            );
          }
          const info = await store.getStreamInfo(stream);
          printJsonLine({stream, retention: info.retention === undefined ? null : retentionLine(info.retention)});
        } finally {
          store.close();
        }
      },
    );

  const deleteCommand = withConnection(new Command('delete'))
    .description('delete a stream: it reads as not found, and a later append continues it; with --tombstone, for good')
    .argument('<stream>')
    .option('--tombstone', 'delete for good: every later append fails')
    .option('--expected-revision <revision>', "the stream's revision, as a check")
    .action(async (stream: string, flags: ConnectionFlags & {tombstone?: boolean; expectedRevision?: string}) => {
      const store = connect(flags);
      try {
        const {revision} = await store.deleteStream(stream, {
          tombstone: flags.tombstone === true,
          ...(flags.expectedRevision === undefined ? {} : {expectedRevision: wholeBigInt(flags.expectedRevision, '--expected-revision')}),
        });
        printJsonLine({
          stream,
          deleted: true,
          tombstoned: flags.tombstone === true,
          revision: revision === undefined ? null : String(revision),
        });
      } finally {
        store.close();
      }
    });

  return [erase, retention, deleteCommand];
}
