/** Publish -> commit latency samples: the ingest's after-commit hook reports each inserted reading. */
export class LatencyRecorder {
  private samples: number[] = [];

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * `publishedAt` is the reading's ts (the simulator and benchmark stamp it at publish time);
   * `committedAt` defaults to now (another process on this machine may pass its own clock).
   */
  record(publishedAt: number[], committedAt: number = this.clock()): void {
    for (const t of publishedAt) this.samples.push(committedAt - t);
  }

  reset(): void {
    this.samples = [];
  }

  get count(): number {
    return this.samples.length;
  }

  /** Nearest-rank percentile in ms (NaN with no samples). */
  percentile(p: number): number {
    if (this.samples.length === 0) return NaN;
    const sorted = Float64Array.from(this.samples).sort();
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  }
}
