/**
 * Training metrics averaged over the steps between two log points (`train.logEvery`), so the logged curve is
 * smooth but covers every step; the largest value of each metric in the window is kept too, since a single
 * spike (a gradient-norm burst at the warm-up switch) is what a mean hides.
 */
export class MetricWindow {
  private readonly sums = new Map<string, number>();
  private readonly maxima = new Map<string, number>();
  private steps = 0;

  add(values: Readonly<Record<string, number>>): void {
    for (const [key, value] of Object.entries(values)) {
      this.sums.set(key, (this.sums.get(key) ?? 0) + value);
      this.maxima.set(key, Math.max(this.maxima.get(key) ?? -Infinity, value));
    }
    this.steps++;
  }

  /** Mean of each metric over the window. */
  mean(key: string): number {
    return (this.sums.get(key) ?? NaN) / this.steps;
  }

  /** Largest value of a metric in the window. */
  max(key: string): number {
    return this.maxima.get(key) ?? NaN;
  }

  keys(): string[] {
    return [...this.sums.keys()];
  }

  clear(): void {
    this.sums.clear();
    this.maxima.clear();
    this.steps = 0;
  }
}
