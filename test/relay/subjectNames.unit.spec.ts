import {describe, expect, it} from 'vitest';
import fc from 'fast-check';
import {eventSubject, isSubjectPrefix, nameOfToken, subjectToken, tenantSubjects} from '../../server/src/relay/subjectNames.js';

describe('subject names', () => {
  it('leaves plain names alone and escapes what NATS does not allow in a token', () => {
    expect(subjectToken('LessonStarted')).toBe('LessonStarted');
    expect(subjectToken('school-7_a')).toBe('school-7_a');
    expect(subjectToken('lesson.started')).toBe('lesson%2Estarted');
    expect(subjectToken('a b*c>d%')).toBe('a%20b%2Ac%3Ed%25');
    expect(subjectToken('Prüfung')).toBe('Pr%C3%BCfung');
    expect(eventSubject('edupulse.events', 'school-1', 'quiz.v2.Answered')).toBe('edupulse.events.school-1.quiz%2Ev2%2EAnswered');
    expect(tenantSubjects('edupulse.events', 'school-1')).toBe('edupulse.events.school-1.>');
  });

  it('makes every name one valid, reversible token', () => {
    fc.assert(
      fc.property(fc.string({minLength: 1, unit: 'grapheme'}), name => {
        const token = subjectToken(name);
        expect(token).toMatch(/^[A-Za-z0-9_%-]+$/);
        expect(nameOfToken(token)).toBe(name);
      }),
      {numRuns: 2000},
    );
  });

  it('accepts only dotted plain tokens as a prefix', () => {
    expect(isSubjectPrefix('edupulse.events')).toBe(true);
    expect(isSubjectPrefix('edupulse..events')).toBe(false);
    expect(isSubjectPrefix('edupulse.*')).toBe(false);
    expect(isSubjectPrefix('')).toBe(false);
  });
});
