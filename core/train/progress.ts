import type { Logger } from '../contracts/services';

/**
 * Training progress lines through the Logger (stderr): epoch, step/total, loss, lr, samples/s, ETA. Plain text
 * when stderr is not a terminal or `CI` is set; on a terminal the loss is bold so it stands out in long logs.
 */
export class ProgressReporter {
  private readonly started = Date.now();
  private lastTime = Date.now();
  private lastStep: number;

  /** @param firstStep global step training starts from (non-zero when resuming), for a fair ETA */
  constructor(
    private readonly logger: Logger,
    private readonly totalSteps: number,
    private readonly batchSize: number,
    private readonly firstStep = 0,
    private readonly plain = !process.stderr.isTTY || Boolean(process.env.CI),
  ) {
    this.lastStep = firstStep;
  }

  /** Reports after `step` (global, 0-based) completed. */
  report(epoch: number, epochs: number, step: number, loss: number, lr: number): void {
    const now = Date.now();
    const done = step + 1;
    const samplesPerSecond = ((done - this.lastStep) * this.batchSize) / Math.max(1e-3, (now - this.lastTime) / 1000);
    const secondsPerStep = (now - this.started) / 1000 / Math.max(1, done - this.firstStep);
    this.lastTime = now;
    this.lastStep = done;
    const lossText = loss.toFixed(4);
    this.logger.info(
      `epoch ${epoch + 1}/${epochs} step ${done}/${this.totalSteps} loss ${this.plain ? lossText : `\x1b[1m${lossText}\x1b[22m`} ` +
        `lr ${lr.toExponential(2)} ${samplesPerSecond.toFixed(1)} samples/s ETA ${formatDuration(secondsPerStep * (this.totalSteps - done))}`,
    );
  }
}

/** `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}
