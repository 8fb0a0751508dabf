import {execFileSync} from 'node:child_process';

/** Builds the server once, for the tests that run it as a separate process (kill and restart). */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], {stdio: 'inherit'});
}
