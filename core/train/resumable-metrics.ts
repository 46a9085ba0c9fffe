import type { MetricPoint, TrackedRun } from '../contracts/tracker';

/**
 * Logs metrics into a tracked run exactly once per (key, step), also across a resume. A resumed run repeats the
 * steps between its last checkpoint and the interruption, and they were logged before it; the tracker knows the
 * last step it holds for each key (`TrackedRun.lastStep`), and points at or below it are not logged again. A
 * resumed run reproduces those steps bit for bit (same weights, RNG and batches), so nothing is lost.
 */
export class ResumableMetrics {
  private readonly logged = new Map<string, number>();

  constructor(
    private readonly run: TrackedRun | null,
    private readonly resumed: boolean,
  ) {}

  async log(points: MetricPoint[]): Promise<void> {
    if (this.run === null) return;
    const fresh: MetricPoint[] = [];
    for (const point of points) if (point.step > (await this.highWater(point.key))) fresh.push(point);
    if (fresh.length > 0) await this.run.logMetrics(fresh);
  }

  private async highWater(key: string): Promise<number> {
    if (!this.resumed || this.run?.lastStep === undefined) return -Infinity;
    let step = this.logged.get(key);
    if (step === undefined) {
      step = (await this.run.lastStep(key)) ?? -Infinity;
      this.logged.set(key, step);
    }
    return step;
  }
}
