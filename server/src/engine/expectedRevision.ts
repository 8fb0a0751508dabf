/** The expected revision of an append, in the engine's terms. */
export type ExpectedRevision = {kind: 'any'} | {kind: 'noStream'} | {kind: 'streamExists'} | {kind: 'exact'; revision: number};

/** Describes an expected revision the way error messages and details show it. */
export function describeExpectedRevision(expected: ExpectedRevision): string {
  switch (expected.kind) {
    case 'any':
      return 'any';
    case 'noStream':
      return 'no_stream';
    case 'streamExists':
      return 'stream_exists';
    case 'exact':
      return String(expected.revision);
  }
}
