/**
 * NATS subjects of relayed events: `<prefix>.<tenant>.<event type>`, so that
 * a consumer filters by tenant (`<prefix>.<tenant>.>`) and by type across
 * tenants (`<prefix>.*.<type>`).
 *
 * A subject token may not hold `.`, `*`, `>`, whitespace or control
 * characters, and may not be empty. A tenant or type is written as a token
 * with every byte of its UTF-8 outside `A-Z a-z 0-9 _ -` percent-encoded
 * (`%` itself becomes `%25`, `.` becomes `%2E`): `LessonStarted.v2` →
 * `LessonStarted%2Ev2`. The escape is reversible and changes no name made
 * of letters, digits, `_` and `-`.
 */

const PLAIN = /^[A-Za-z0-9_-]+$/;

/** `name` as one subject token (see the module's comment). */
export function subjectToken(name: string): string {
  if (PLAIN.test(name)) return name;
  let token = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const char = String.fromCharCode(byte);
    token += byte < 0x80 && /[A-Za-z0-9_-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return token;
}

/** The name a {@link subjectToken} was made from. */
export function nameOfToken(token: string): string {
  return decodeURIComponent(token);
}

/** The subject an event of `type` in `tenant`'s log is published on. */
export function eventSubject(prefix: string, tenant: string, type: string): string {
  return `${prefix}.${subjectToken(tenant)}.${subjectToken(type)}`;
}

/** The subjects of every event of `tenant`. */
export function tenantSubjects(prefix: string, tenant: string): string {
  return `${prefix}.${subjectToken(tenant)}.>`;
}

/** A subject prefix: one or more tokens of letters, digits, `_` and `-`, separated by dots. */
export function isSubjectPrefix(text: string): boolean {
  return text.split('.').every(token => PLAIN.test(token));
}
