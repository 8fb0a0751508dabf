/**
 * A request the gRPC layer refuses (INVALID_ARGUMENT): malformed bytes, or a
 * rule or limit broken, named by the field of the request where it lies.
 */

/** One problem with one request field, e.g. `events[2].type`. */
export type FieldViolation = {field: string; description: string};

/** The request is malformed or breaks a documented limit (INVALID_ARGUMENT). */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  readonly violations: readonly FieldViolation[];

  constructor(violations: readonly FieldViolation[]) {
    super(violations.map(v => (v.field === '' ? v.description : `${v.field}: ${v.description}`)).join('; '));
    this.violations = violations;
  }
}
