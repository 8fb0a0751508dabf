/**
 * A lesson service: publishes a lesson, opens a learning pulse on it, and
 * awards a badge, as typed EduPulse domain events with optimistic concurrency.
 *
 *   npm run build && node dist/examples/lessonService.js [host:port]
 */
import {randomUUID} from 'node:crypto';
import {createEventStoreClient, isWrongExpectedRevisionError, type EventStoreClient} from '@edupulse/event-store-client';

const store = createEventStoreClient(process.argv[2] ?? '127.0.0.1:50051', {tenant: 'school-a'});

/**
 * Runs `decide` against the stream's current revision and appends what it
 * returns, expecting that revision. When another writer got there first, the
 * store refuses the append (nothing is written); read again and decide again.
 */
async function withOptimisticConcurrency(
  client: EventStoreClient,
  stream: string,
  decide: (revision: bigint | undefined) => Parameters<EventStoreClient['appendToStream']>[1],
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const {revision} = await client.getStreamInfo(stream);
    try {
      await client.appendToStream(stream, decide(revision), {expectedRevision: revision ?? 'noStream'});
      return;
    } catch (error) {
      if (!isWrongExpectedRevisionError(error) || attempt === 5) throw error;
      console.log(`conflict on ${stream} (now at revision ${error.actualRevision}); retrying`);
    }
  }
}

const lessonId = randomUUID();
const stream = `lesson-${lessonId}`;
const correlationId = randomUUID();

await withOptimisticConcurrency(store, stream, revision => {
  if (revision !== undefined) throw new Error(`lesson ${lessonId} was published already`);
  return [
    {
      type: 'edupulse.events.v1.LessonPublished',
      data: {lessonId, courseId: 'course-fractions', title: 'Adding fractions', teacherId: 'teacher-7', publishedAt: new Date()},
      correlationId,
      actorId: 'teacher-7',
    },
  ];
});

await withOptimisticConcurrency(store, stream, () => [
  {
    type: 'edupulse.events.v1.LearningPulseCreated',
    data: {pulseId: randomUUID(), lessonId, authorId: 'teacher-7', prompt: 'What is 1/2 + 1/4?'},
    correlationId,
    actorId: 'teacher-7',
  },
]);

const learnerId = 'learner-42';
const result = await store.appendToStream(`learner-${learnerId}`, [
  {
    type: 'edupulse.events.v1.BadgeAwarded',
    data: {badgeId: 'first-pulse', learnerId, reason: 'Answered a first learning pulse'},
    correlationId,
    actorId: 'lesson-service',
    // Personal data about the learner: stored encrypted under the learner's own key, erasable (GDPR).
    dataSubjectId: learnerId,
  },
]);

for await (const event of store.readStream(stream)) {
  console.log(`${stream}@${event.revision} (position ${event.position}): ${event.type}`);
}
console.log(`badge awarded at position ${result.lastPosition}`);
store.close();
