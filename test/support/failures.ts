import {ErrorInfo, RichClientError} from 'nice-grpc-error-details';
import {expect} from 'vitest';

/** The google.rpc.ErrorInfo of a rich error, or a failure. */
export function errorInfoOf(error: unknown): ErrorInfo {
  expect(error).toBeInstanceOf(RichClientError);
  const info = (error as RichClientError).extra.find(d => d.$type === ErrorInfo.$type);
  expect(info).toBeDefined();
  return info as ErrorInfo;
}

/** The error `promise` fails with; a failure of the test when it succeeds. */
export async function failureOf(promise: Promise<unknown>): Promise<RichClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the call should have failed').toBeInstanceOf(RichClientError);
  return error as RichClientError;
}
