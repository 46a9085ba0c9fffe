import type { Schedule, TrainingProgress } from '../../contracts/training';
import { failIfAny } from '../report';
import type { LightDriver } from './driver';

const CHECKS = { values: 'multiplier: finite, ≥ 0, a pure function of progress' } as const;

/** `schedule`: over epochs 0–39 and a few steps, the multiplier is finite and ≥ 0, and the same in any call order. */
export const scheduleDriver: LightDriver = {
  type: 'light',
  kind: 'schedule',
  checks: Object.values(CHECKS),
  async run(built, recorder) {
    const schedule = built as Schedule;
    const points: TrainingProgress[] = Array.from({ length: 40 }, (_, epoch) => [0, 7].map((s) => ({ epoch, step: epoch * 10 + s }))).flat();
    await recorder.check(CHECKS.values, () => {
      const forward = points.map((p) => schedule.multiplier(p));
      const backward = [...points]
        .reverse()
        .map((p) => schedule.multiplier(p))
        .reverse();
      failIfAny([
        ...forward.flatMap((m, i) => (Number.isFinite(m) && m >= 0 ? [] : [`epoch ${points[i].epoch} step ${points[i].step}: ${m}`])),
        ...forward.flatMap((m, i) => (Object.is(m, backward[i]) ? [] : [`epoch ${points[i].epoch}: ${m}, then ${backward[i]} when called in another order`])),
      ]);
      return `${points.length} points, from ${forward[0]} to ${forward[forward.length - 1]}`;
    });
  },
};
