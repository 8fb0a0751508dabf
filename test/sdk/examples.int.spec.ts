import {execFile, spawn} from 'node:child_process';
import {mkdtemp, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {promisify} from 'node:util';
import {afterAll, beforeAll, expect, it} from 'vitest';
import {startTestServer, type TestServer} from '../support/testServer.js';

const run = promisify(execFile);
const example = (name: string): string => fileURLToPath(new URL(`../../dist/examples/${name}.js`, import.meta.url));

let t: TestServer;
let workDir: string;
beforeAll(async () => {
  t = await startTestServer();
  workDir = await mkdtemp(join(tmpdir(), 'edupulse-examples-'));
});
afterAll(async () => {
  await t.dispose();
  await rm(workDir, {recursive: true, force: true});
});

/** Runs the notifier until it printed `lines` notifications and caught up, then stops it with SIGTERM. */
async function runNotifier(positionFile: string, notifications: number): Promise<string> {
  const child = spawn(process.execPath, [example('notifier'), t.address, positionFile], {stdio: ['ignore', 'pipe', 'inherit']});
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', chunk => {
      out += String(chunk);
      if (out.includes('caught up') && (out.match(/^notify /gm) ?? []).length >= notifications) resolve();
    });
    child.once('exit', code => reject(new Error(`notifier exited (${code}) early: ${out}`)));
  });
  child.kill('SIGTERM');
  await new Promise(resolve => child.once('exit', resolve));
  return out;
}

it('the lesson service appends typed events; the notifier reacts to badges and resumes after a restart', async () => {
  const first = await run(process.execPath, [example('lessonService'), t.address]);
  expect(first.stdout).toMatch(/lesson-[0-9a-f-]+@0 \(position 1\): edupulse.events.v1.LessonPublished/);
  expect(first.stdout).toMatch(/@1 \(position 2\): edupulse.events.v1.LearningPulseCreated/);
  expect(first.stdout).toContain('badge awarded at position 3');

  const positionFile = join(workDir, 'notifier.position');
  const firstRun = await runNotifier(positionFile, 1);
  expect(firstRun).toContain('notify learner-42: you earned a badge (Answered a first learning pulse) [position 3]');
  expect(firstRun).toContain('notifier: stopped');
  expect((await readFile(positionFile, 'utf8')).trim()).toBe('3');

  // More lessons while the notifier is down; on restart it notifies only the new badge.
  await run(process.execPath, [example('lessonService'), t.address]);
  const secondRun = await runNotifier(positionFile, 1);
  expect(secondRun).toContain('resuming after position 3');
  expect(secondRun.match(/^notify .*$/gm)).toEqual([
    'notify learner-42: you earned a badge (Answered a first learning pulse) [position 6]',
  ]);
});
