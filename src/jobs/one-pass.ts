// An asynchronous pass that never overlaps itself: asked again while it runs, it runs once more when it ends (any
// number of requests meanwhile make one more pass). A pass that decides from what it counted before an await
// (free slots, busy jobs) stays right only if no other pass changes those counts in between.
export class OnePassAtATime {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(private readonly pass: () => Promise<void>) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch(() => undefined)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  /** Resolves once no pass runs (including the ones asked for meanwhile). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
