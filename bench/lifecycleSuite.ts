/**
 * Personal data's benchmarks (`npm run bench -- --only=lifecycle`): what
 * sealing costs appends and what opening costs readers, each against the
 * same work on events without personal data, in the same store and run.
 * See bench/README.md.
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {createEventStoreClient} from '../client/src/index.js';
import {eventData, now, orderOf, progress, roundsOf, type Child, type Row} from './harness.js';

/** What the suite needs from the main benchmark run. */
export type LifecycleSuiteOptions = {
  sizes: number[];
  rounds: number;
  /** Events each append run and each catch-up handles. */
  events: number;
  record(row: Row): void;
  startStore(args: string[]): Promise<Child>;
};

const WRITERS = 64;
const SUBJECTS = 1000;
const MASTER_KEY = '5e'.repeat(32);

type Kind = 'firstOfSubject' | 'personal' | 'plain';

/** The subject of the `i`th event of a run of `kind`: a new one each time, one of {@link SUBJECTS}, or none. */
function subjectOf(kind: Kind, i: number): string | undefined {
  if (kind === 'plain') return undefined;
  return kind === 'firstOfSubject' ? `new-${i}` : `student-${i % SUBJECTS}`;
}

/** Appends `events` events of `size` bytes from 64 writers, one per append (the SDK's session), to `tenant`; events/s. */
async function appendRun(address: string, tenant: string, kind: Kind, events: number, size: number): Promise<number> {
  const sdk = createEventStoreClient(address, {tenant, deadlineMs: 120_000});
  let sent = 0;
  const started = now();
  await Promise.all(
    Array.from({length: WRITERS}, async () => {
      while (sent < events) {
        const i = sent++;
        await sdk.appendToStream(`learner-${i % 100}`, [
          {
            type: 'bench.Profile',
            data: eventData(size),
            contentType: 'application/octet-stream',
            metadata: {source: 'bench'},
            ...(kind === 'plain' ? {} : {dataSubjectId: subjectOf(kind, i)!}),
          },
        ]);
      }
    }),
  );
  const rate = events / ((now() - started) / 1000);
  sdk.close();
  return rate;
}

/** Reads `tenant`'s log with a subscription from the start to its caught-up marker; events/s. */
async function catchUpRun(address: string, tenant: string, expected: number): Promise<number> {
  const sdk = createEventStoreClient(address, {tenant, deadlineMs: 120_000});
  const controller = new AbortController();
  let received = 0;
  const started = now();
  try {
    for await (const message of sdk.raw.subscribe({tenant, maxBatchSize: 1000}, {signal: controller.signal})) {
      if (message.content?.$case === 'events') received += message.content.value.events.length;
      if (message.content?.$case === 'caughtUp') break;
    }
  } finally {
    controller.abort();
    sdk.close();
  }
  if (received !== expected) throw new Error(`catch-up of ${tenant} received ${received} of ${expected} events`);
  return received / ((now() - started) / 1000);
}

/**
 * Per size, one store (fsync on, a master key): appends of personal events
 * and of plain ones to tenants of their own, then a catch-up of each tenant,
 * in rounds of a turning order.
 */
export async function lifecycleSuite(options: LifecycleSuiteOptions): Promise<void> {
  for (const size of options.sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'edupulse-bench-lifecycle-'));
    try {
      const store = await options.startStore(['--data-dir', dir, '--master-key', MASTER_KEY]);
      try {
        const address = store.ready[1]!;
        const appends: Record<Kind, number[]> = {firstOfSubject: [], personal: [], plain: []};
        const reads: Record<Kind, number[]> = {firstOfSubject: [], personal: [], plain: []};
        for (let round = 0; round < options.rounds; round++) {
          // The subjects' keys are made before the measured appends of their events.
          await appendRun(address, `personal-${round}`, 'personal', SUBJECTS, size);
          for (const kind of orderOf(['firstOfSubject', 'personal', 'plain'] as const, round)) {
            appends[kind].push(await appendRun(address, `${kind.toLowerCase()}-${round}`, kind, options.events, size));
            progress(`lifecycle ${size}B round ${round + 1}: ${kind} appends done`);
          }
          for (const kind of orderOf(['plain', 'personal'] as const, round)) {
            reads[kind].push(
              await catchUpRun(address, `${kind.toLowerCase()}-${round}`, options.events + (kind === 'personal' ? SUBJECTS : 0)),
            );
            progress(`lifecycle ${size}B round ${round + 1}: ${kind} catch-up done`);
          }
        }
        const rowOf = (what: Record<Kind, number[]>, kind: Kind, variant: string, against: string): void => {
          const personal = roundsOf(what[kind]);
          options.record({
            scenario: 'personal data',
            size,
            variant,
            value: personal.median,
            ...(options.rounds > 1 ? {rounds: personal} : {}),
            unit: 'events/s',
            against: {what: against, value: roundsOf(what.plain).median},
          });
        };
        const plainAppends = 'the same appends without personal data';
        rowOf(
          appends,
          'personal',
          `append, ${WRITERS} writers, one event per append, sealed (${SUBJECTS} subjects with keys)`,
          plainAppends,
        );
        rowOf(
          appends,
          'firstOfSubject',
          `append, ${WRITERS} writers, each event a new subject's first (a key made and stored)`,
          plainAppends,
        );
        rowOf(reads, 'personal', 'catch-up subscription, every event opened', 'the same catch-up of events without personal data');
      } finally {
        await store.stop();
      }
    } finally {
      await rm(dir, {recursive: true, force: true});
    }
  }
}
