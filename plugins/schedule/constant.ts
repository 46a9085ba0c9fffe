import { definePlugin, injectable, type Schedule, type TrainingProgress, Type } from 'shnet';

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
