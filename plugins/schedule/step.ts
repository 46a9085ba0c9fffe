import { definePlugin, inject, injectable, PLUGIN_ARGS, type Schedule, type Static, type TrainingProgress, Type } from 'shnet';

export const stepScheduleOptions = Type.Object(
  {
    stepEpochs: Type.Integer({ minimum: 1, default: 15, description: 'Multiply by gamma every this many epochs.' }),
    gamma: Type.Number({ exclusiveMinimum: 0, default: 0.1, description: 'Decay factor.' }),
  },
  { additionalProperties: false },
);

/**
 * Step decay, the reference's `--lr_update 15`: multiplier gamma^⌊epoch / stepEpochs⌋, constant within an epoch
 * (the reference checks once at epoch start). Unlike the reference, resuming past a step re-applies the decay,
 * because the multiplier is a pure function of the epoch.
 */
@injectable()
export class StepSchedule implements Schedule {
  constructor(@inject(PLUGIN_ARGS) private readonly args: Static<typeof stepScheduleOptions>) {}

  multiplier(progress: TrainingProgress): number {
    return Math.pow(this.args.gamma, Math.floor(progress.epoch / this.args.stepEpochs));
  }
}

export const stepScheduleSpec = definePlugin({
  kind: 'schedule',
  name: 'step',
  doc: 'Learning rate × gamma every stepEpochs epochs (reference: ×0.1 at epoch 15).',
  version: '1.0.0',
  options: stepScheduleOptions,
  plugin: StepSchedule,
});
