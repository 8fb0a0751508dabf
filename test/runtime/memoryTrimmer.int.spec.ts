import {setFlagsFromString} from 'node:v8';
import {runInNewContext} from 'node:vm';
import {expect, it} from 'vitest';
import {memoryTrims, retainMemoryTrimmer} from '../../server/src/runtime/memoryTrimmer.js';

// A full collection on demand: the flag exposes gc() to contexts made after it is set.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

it('gives freed memory back after a full collection that freed much, once per holder set', async () => {
  const release = retainMemoryTrimmer();
  const second = retainMemoryTrimmer();
  const before = memoryTrims().count;
  try {
    // 64 MiB of 16 KiB buffers, in the C allocator's heap like the pages and messages a server sends, then dropped.
    let buffers: Buffer[] | undefined = Array.from({length: 4096}, () => Buffer.alloc(16 * 1024, 1));
    expect(buffers.length).toBe(4096);
    buffers = undefined;
    gc();
    const deadline = Date.now() + 60_000;
    while (memoryTrims().count === before && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100));
    expect(memoryTrims().count).toBeGreaterThan(before);
    expect(memoryTrims().seconds).toBeGreaterThan(0);
  } finally {
    release();
    second();
  }
}, 90_000);
