import { Type } from '@sinclair/typebox';
import { injectable } from 'inversify';
import type { Schedule, TrainingProgress } from '../../core/contracts/training';
import { definePlugin } from '../../core/registry/plugin-spec';

export const constantScheduleOptions = Type.Object({}, { additionalProperties: false });

/** The base learning rate throughout. */
@injectable()
export class ConstantSchedule implements Schedule {
  multiplier(_progress: TrainingProgress): number {
    return 1;
  }
}

export const constantScheduleSpec = definePlugin({
  kind: 'schedule',
  name: 'constant',
  doc: 'Constant learning rate.',
  version: '1.0.0',
  options: constantScheduleOptions,
  plugin: ConstantSchedule,
});
