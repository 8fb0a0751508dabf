import {spawn} from 'node:child_process';
import {rm} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import {pino} from 'pino';
import {openEventStore} from '../../server/src/backends/leveldb/openEventStore.js';
import {defaultConfig} from '../../server/src/config/config.js';
import type {AppendResult} from '../../server/src/engine/types.js';
import {freshDataDir} from '../support/testServer.js';
import {eventStoreContract, type ContractAppend, type ContractStorage} from './eventStoreContract.js';
// A plain module (with its declaration beside it), shared with the crash writer, which runs without TypeScript.
import {levelDbOptions} from './support/levelDbOptions.mjs';

const crashWriter = fileURLToPath(new URL('./support/levelDbCrashWriter.mjs', import.meta.url));

eventStoreContract('LevelDB', {
  async create(): Promise<ContractStorage> {
    const dataDir = await freshDataDir();
    return {
      open: options => openEventStore(levelDbOptions(dataDir, defaultConfig, pino({level: 'silent'}), options)),
      crashWhileAppending: (appends, killAfter) => crashWhileAppending(dataDir, appends, killAfter),
      dispose: () => rm(dataDir, {recursive: true, force: true}),
    };
  },
});

/** Runs the crash writer over `dataDir` and kills it once `killAfter` appends are acknowledged. */
function crashWhileAppending(
  dataDir: string,
  appends: readonly ContractAppend[],
  killAfter: number,
): Promise<Array<{append: ContractAppend; result: AppendResult}>> {
  const child = spawn(process.execPath, [crashWriter, dataDir], {stdio: ['pipe', 'pipe', 'pipe']});
  child.stdin.end(JSON.stringify(appends));
  const acknowledged: Array<{append: ContractAppend; result: AppendResult}> = [];
  let pending = '';
  let stderr = '';
  child.stderr.on('data', chunk => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', chunk => {
      pending += String(chunk);
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        const [, index, result] = /^ACK (\d+) (.*)$/.exec(line)!;
        acknowledged.push({append: appends[Number(index)]!, result: JSON.parse(result!) as AppendResult});
      }
      if (acknowledged.length >= killAfter) child.kill('SIGKILL');
    });
    child.once('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acknowledged);
      else reject(new Error(`the crash writer ended before it was killed (code ${code}): ${stderr}`));
    });
  });
}
