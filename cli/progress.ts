import {SingleBar, Presets} from 'cli-progress';

/** A progress bar on standard error for long runs; silent when stderr is not a terminal. */
export type Progress = {update(done: number): void; stop(): void};

/** Starts a progress bar towards `total` (events). */
export function startProgress(label: string, total: number): Progress {
  if (!process.stderr.isTTY || total === 0) return {update: () => {}, stop: () => {}};
  const bar = new SingleBar(
    {format: `${label} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`, stream: process.stderr},
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return {update: done => bar.update(done), stop: () => bar.stop()};
}
