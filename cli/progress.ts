import {SingleBar, Presets} from 'cli-progress';

/** A progress bar on standard error for long runs; silent when stderr is not a terminal. */
export type Progress = {update(done: number): void; stop(): void};

/**
 * Starts a progress bar towards `total` (events). The time left comes from
 * the average rate since the start: imports and verifications advance in
 * bursts (a batch read or written at once), and a rate over the last few
 * updates swings between the burst's and the pause's.
 */
export function startProgress(label: string, total: number, now: () => number = Date.now): Progress {
  if (!process.stderr.isTTY || total === 0) return {update: () => {}, stop: () => {}};
  const started = now();
  const bar = new SingleBar(
    {format: `${label} [{bar}] {percentage}% | {value}/{total} events | {left}`, stream: process.stderr},
    Presets.shades_classic,
  );
  bar.start(total, 0, {left: timeLeft(0, total, 0)});
  return {update: done => bar.update(done, {left: timeLeft(done, total, now() - started)}), stop: () => bar.stop()};
}

/** The time left at the average rate so far, for a person: "1m05s left"; "estimating" in the first second. */
export function timeLeft(done: number, total: number, elapsedMs: number): string {
  if (done <= 0 || elapsedMs < 1000) return 'estimating';
  const seconds = Math.round(((total - done) * elapsedMs) / done / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${h > 0 ? `${h}h${two(m)}m${two(s)}s` : m > 0 ? `${m}m${two(s)}s` : `${s}s`} left`;
}
