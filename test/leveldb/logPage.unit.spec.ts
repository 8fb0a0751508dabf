import {describe, expect, it} from 'vitest';
import {decodeIndexRun, entriesOfRun, logKey, positionOfLogKey, streamIndexKey} from '../../server/src/backends/leveldb/keys.js';
import {PAGE_BYTES, pageOperations, readPage, type PagedEvent, type PutOperation} from '../../server/src/backends/leveldb/logPage.js';

/** Events at positions from 1 of the given [stream, revision] pairs, each `bytes` long. */
function eventsOf(pairs: Array<[string, number]>, bytes = 100): PagedEvent[] {
  return pairs.map(([stream, revision], i) => ({position: i + 1, encoded: new Uint8Array(bytes).fill(i), stream, revision}));
}

/** The stream-index runs among `operations`, as [stream, first revision, last revision, last position, page]. */
function runsIn(operations: PutOperation[]): Array<[string, number, number, number, number]> {
  return operations
    .filter(op => op.key[0] === 'S'.charCodeAt(0))
    .map(op => {
      const run = decodeIndexRun(op.key, op.value);
      const stream = op.key.subarray(3, -9).toString(); // after 'S', 't', 0; before 0 and the revision
      return [stream, run.lastRevision - run.count + 1, run.lastRevision, run.lastPosition, run.page];
    });
}

describe('pageOperations', () => {
  it('indexes each stretch of a stream at consecutive revisions as one run, merging appends that follow each other', () => {
    const pages: PutOperation[] = [];
    const operations: PutOperation[] = [];
    // a0 a1 | a2 (a second append to a, right after) | b0 | a3 | c5 c7 (not consecutive)
    pageOperations(
      't',
      eventsOf([
        ['a', 0],
        ['a', 1],
        ['a', 2],
        ['b', 0],
        ['a', 3],
        ['c', 5],
        ['c', 7],
      ]),
      pages,
      operations,
    );
    expect(pages.map(op => op.key)).toEqual([logKey('t', 7)]);
    // The pages go to the log, the runs to the indexes.
    expect(operations.every(op => op.key[0] === 'S'.charCodeAt(0))).toBe(true);
    expect(runsIn(operations)).toEqual([
      ['a', 0, 2, 3, 7],
      ['b', 0, 0, 4, 7],
      ['a', 3, 3, 5, 7],
      ['c', 5, 5, 6, 7],
      ['c', 7, 7, 7, 7],
    ]);
    expect(operations.find(op => op.key.equals(streamIndexKey('t', 'a', 2)))).toBeDefined();
  });

  it('ends a run at each page boundary, so a run names the one page that holds it', () => {
    const perPage = Math.floor(PAGE_BYTES / 1002);
    const puts: PutOperation[] = [];
    const operations: PutOperation[] = [];
    pageOperations(
      't',
      eventsOf(
        Array.from({length: perPage * 2 + 3}, (_, r) => ['a', r] as [string, number]),
        1000,
      ),
      puts,
      operations,
    );
    const pages = puts.map(op => readPage(positionOfLogKey(op.key), op.value));
    expect(pages.map(p => [p.first, p.last])).toEqual([
      [1, perPage],
      [perPage + 1, perPage * 2],
      [perPage * 2 + 1, perPage * 2 + 3],
    ]);
    expect(runsIn(operations)).toEqual(pages.map(p => ['a', p.first - 1, p.last - 1, p.last, p.last]));
  });
});

describe('entriesOfRun', () => {
  it('maps revisions to positions within the run, clipped to the range asked for', () => {
    const run = {lastRevision: 9, lastPosition: 40, page: 42, count: 4};
    expect(entriesOfRun(run, 0, 100).map(e => [e.revision, e.position, e.page])).toEqual([
      [6, 37, 42],
      [7, 38, 42],
      [8, 39, 42],
      [9, 40, 42],
    ]);
    expect(entriesOfRun(run, 8, 8).map(e => e.position)).toEqual([39]);
    expect(entriesOfRun(run, 10, 20)).toEqual([]);
  });

  it('refuses a run that cannot be: more events than revisions, or past its page', () => {
    expect(() => decodeIndexRun(streamIndexKey('t', 'a', 1), Buffer.alloc(24))).toThrow(/inconsistent/);
    expect(() => decodeIndexRun(streamIndexKey('t', 'a', 1), Buffer.alloc(16))).toThrow(/16 bytes, expected 24/);
  });
});
