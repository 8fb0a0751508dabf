import {open, rm, stat, statfs} from 'node:fs/promises';
import {join} from 'node:path';

/**
 * Disk space set aside in the data directory so that the store can always
 * reopen after its disk filled up.
 *
 * Opening a LevelDB turns its write-ahead log (up to a write buffer, 32 MiB,
 * per database) into a table file, and fails when the disk cannot hold it: a
 * server stopped by a full disk would then fail to start however often it is
 * restarted, until someone frees that much. So the store keeps a file of
 * reserveBytesFor(32 MiB) = 72 MiB in the data directory while it has room: when a start finds
 * less free space than that, it deletes the file first, and LevelDB recovers
 * into the space it held. Once open, the store makes the file again as soon as
 * the disk has room (appends made meanwhile fail with UNAVAILABLE when the
 * disk is full, as always).
 */

/** The reserve's file, beside LevelDB's own files (LevelDB ignores names it does not know). */
export const RESERVE_FILE = 'disk-reserve';

/**
 * The reserve for databases of write buffers of `writeBufferBytes`: both
 * write-ahead logs turned into tables, and room for their manifests and a
 * compaction's first file.
 */
export function reserveBytesFor(writeBufferBytes: number): number {
  return 2 * writeBufferBytes + 8 * 1024 * 1024;
}

const CHUNK = Buffer.alloc(1024 * 1024);

/** Free bytes on the file system holding `dir`, for an unprivileged writer. */
export async function freeBytes(dir: string): Promise<number> {
  const {bavail, bsize} = await statfs(dir);
  return bavail * bsize;
}

/** Bytes of the reserve in `dataDir` (0 when there is none). */
async function reserveSize(dataDir: string): Promise<number> {
  try {
    return (await stat(join(dataDir, RESERVE_FILE))).size;
  } catch {
    return 0;
  }
}

/**
 * Before opening: when the disk holding `dataDir` has less than `reserveBytes`
 * free, deletes the reserve so that LevelDB can recover into its space.
 * Returns the bytes released (0 when none was needed or there was none).
 */
export async function releaseReserveIfLow(dataDir: string, reserveBytes: number): Promise<number> {
  const held = await reserveSize(dataDir);
  if (held === 0 || (await freeBytes(dataDir)) >= reserveBytes) return 0;
  await rm(join(dataDir, RESERVE_FILE), {force: true});
  return held;
}

/**
 * After opening: makes the reserve of `reserveBytes` (written out, so that
 * the file system really holds the blocks) when there is none and the disk has
 * room for it and as much again. Returns whether the data directory has its
 * reserve.
 */
export async function ensureReserve(dataDir: string, reserveBytes: number): Promise<boolean> {
  if ((await reserveSize(dataDir)) >= reserveBytes) return true;
  if ((await freeBytes(dataDir)) < 2 * reserveBytes) return false;
  const file = join(dataDir, RESERVE_FILE);
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < reserveBytes; written += CHUNK.byteLength) await handle.write(CHUNK);
    await handle.sync();
    await handle.close();
    return true;
  } catch {
    // The disk filled meanwhile: no half reserve.
    await handle.close().catch(() => undefined);
    await rm(file, {force: true});
    return false;
  }
}
