/**
 * Saves a tenant's relay checkpoint behind its publishing, never holding it
 * up: one save at a time, at most one per `intervalMs`, each of the latest
 * position acknowledged. A save costs the backend a write (PostgreSQL: a
 * committed update), so a relay publishing one event per batch does not
 * write once per event. The checkpoint may trail JetStream: a start takes
 * the greater of the two.
 */
export class CheckpointSaver {
  /** False once a save finds the tenant held by another server. */
  held = true;
  private pending: number | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly save: (position: number) => Promise<boolean>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  moveTo(position: number): void {
    this.pending = position;
    this.running ??= this.run();
  }

  /** Resolves once the latest position is saved (or its save failed). */
  async flush(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async run(): Promise<void> {
    while (this.pending !== undefined) {
      const position = this.pending;
      this.pending = undefined;
      try {
        if (!(await this.save(position))) this.held = false;
      } catch (error) {
        this.onError(error);
      }
      if (this.pending !== undefined) await new Promise(resolve => setTimeout(resolve, this.intervalMs));
    }
    this.running = undefined;
  }
}
