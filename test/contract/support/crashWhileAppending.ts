import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import type {AppendResult} from '../../../server/src/engine/types.js';
import type {ContractAppend} from '../eventStoreContract.js';

const crashWriter = fileURLToPath(new URL('./crashWriter.mjs', import.meta.url));

/** Runs the crash writer over the store `store` names and kills it once `killAfter` appends are acknowledged. */
export function crashWhileAppending(
  store: ['leveldb' | 'postgres', string],
  appends: readonly ContractAppend[],
  killAfter: number,
): Promise<Array<{append: ContractAppend; result: AppendResult}>> {
  const child = spawn(process.execPath, [crashWriter, ...store], {stdio: ['pipe', 'pipe', 'pipe']});
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
