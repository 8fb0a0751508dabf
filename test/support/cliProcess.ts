import {spawn} from 'node:child_process';
import {fileURLToPath} from 'node:url';

const main = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Runs `edupulse-es ...args`, optionally feeding standard input; resolves with its output and exit code. */
export function cli(args: string[], input?: string, env: NodeJS.ProcessEnv = {}): Promise<{stdout: string; stderr: string; code: number}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {env: {...process.env, ...env}});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', c => (stdout += String(c)));
    child.stderr.on('data', c => (stderr += String(c)));
    child.on('error', reject);
    child.on('exit', code => resolve({stdout, stderr, code: code ?? -1}));
    child.stdin.end(input ?? '');
  });
}

/** The JSON lines a command printed, parsed. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(l => JSON.parse(l) as Record<string, unknown>);
}
