import { strict as assert } from 'node:assert';
import { constantScheduleSpec, type ConstantSchedule } from '../../../plugins/schedule/constant';
import { stepScheduleSpec, type StepSchedule } from '../../../plugins/schedule/step';
import { buildPlugin } from '../../support/plugin-harness';

describe('schedules', () => {
  it('step: ×0.1 from epoch 15 by default (lr_update 15), then again at 30', () => {
    const s = buildPlugin<StepSchedule>(stepScheduleSpec);
    const at = (epoch: number) => s.multiplier({ epoch, step: epoch * 100 });
    assert.deepEqual([at(0), at(14), at(15), at(24)], [1, 1, 0.1, 0.1]);
    assert.ok(Math.abs(at(30) - 0.01) < 1e-15);
    const t = buildPlugin<StepSchedule>(stepScheduleSpec, { args: { stepEpochs: 2, gamma: 0.5 } });
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((epoch) => t.multiplier({ epoch, step: 0 })),
      [1, 1, 0.5, 0.5, 0.25],
    );
  });

  it('constant: always 1', () => {
    const s = buildPlugin<ConstantSchedule>(constantScheduleSpec);
    assert.equal(s.multiplier({ epoch: 40, step: 9 }), 1);
  });
});
