import type { Logger } from '../contracts/services';

/**
 * Training progress: epoch, step/total, loss, lr, samples/s, ETA. On a terminal it is one bar redrawn in place on
 * stderr after every step; when stderr is not a terminal or `CI` is set it is a plain log line every `logEvery`
 * steps (what `report` is called for), so logs stay readable and greppable.
 */
export class ProgressReporter {
  private readonly started = Date.now();
  private lastTime = Date.now();
  private lastStep: number;
  private lastDraw = 0;
  private status = '';
  private barShown = false;

  /** @param firstStep global step training starts from (non-zero when resuming), for a fair ETA */
  constructor(
    private readonly logger: Logger,
    private readonly totalSteps: number,
    private readonly batchSize: number,
    private readonly firstStep = 0,
    private readonly plain = !process.stderr.isTTY || Boolean(process.env.CI),
    private readonly stream: NodeJS.WritableStream = process.stderr,
  ) {
    this.lastStep = firstStep;
  }

  /** After every step (global, 0-based): redraws the bar on a terminal, at most five times a second. */
  tick(epoch: number, epochs: number, step: number): void {
    if (this.plain) return;
    const now = Date.now();
    if (now - this.lastDraw < 200 && step + 1 !== this.totalSteps) return;
    this.lastDraw = now;
    const done = step + 1;
    const width = 24;
    const filled = Math.round((width * done) / this.totalSteps);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    this.stream.write(
      `\r\x1b[Kepoch ${epoch + 1}/${epochs} ${bar} ${done}/${this.totalSteps} ${this.status}ETA ${formatDuration(this.secondsPerStep(done) * (this.totalSteps - done))}`,
    );
    this.barShown = true;
  }

  /** Every `logEvery` steps, with the mean loss of the window: a log line, or the bar's figures on a terminal. */
  report(epoch: number, epochs: number, step: number, loss: number, lr: number): void {
    const now = Date.now();
    const done = step + 1;
    const samplesPerSecond = ((done - this.lastStep) * this.batchSize) / Math.max(1e-3, (now - this.lastTime) / 1000);
    this.lastTime = now;
    this.lastStep = done;
    const figures = `loss ${loss.toFixed(4)} lr ${lr.toExponential(2)} ${samplesPerSecond.toFixed(1)} samples/s `;
    if (this.plain) {
      this.logger.info(
        `epoch ${epoch + 1}/${epochs} step ${done}/${this.totalSteps} ${figures}ETA ${formatDuration(this.secondsPerStep(done) * (this.totalSteps - done))}`,
      );
    } else {
      this.status = figures;
    }
  }

  /** Ends the bar's line so the next log line starts clean (call before logging validation results). */
  endLine(): void {
    if (this.barShown) this.stream.write('\n');
    this.barShown = false;
  }

  private secondsPerStep(done: number): number {
    return (Date.now() - this.started) / 1000 / Math.max(1, done - this.firstStep);
  }
}

/** `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
