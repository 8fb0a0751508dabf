import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {expect, it} from 'vitest';
import {WRITE_BUFFER_BYTES, openStorage} from '../../server/src/backends/leveldb/openStorage.js';

// A real LevelDB in a temp directory; its `leveldb.sstables` property lists the table files.
it('opens LevelDB with the large write buffer: 12 MiB of writes stay in memory, no table file yet', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edupulse-es-open-'));
  const storage = await openStorage(dir);
  const {indexDb} = storage;
  try {
    expect(WRITE_BUFFER_BYTES).toBeGreaterThan(12 * 1024 * 1024);
    const value = Buffer.alloc(4096, 1);
    for (let chunk = 0; chunk < 6; chunk++) {
      const batch = indexDb.batch();
      for (let i = 0; i < 512; i++) batch.put(Buffer.from(`x${chunk}-${i}`), value);
      await batch.write();
    }
    // With LevelDB's 4 MiB default, these 12 MiB would have been flushed to table files.
    // classic-level's getProperty, which `level`'s types do not declare.
    const tables = (indexDb as unknown as {getProperty(name: string): string}).getProperty('leveldb.sstables');
    expect(tables).not.toMatch(/\d+:\d+\[/);
    expect(tables).toContain('--- level 0 ---');
  } finally {
    await storage.close();
    await rm(dir, {recursive: true, force: true});
  }
});
