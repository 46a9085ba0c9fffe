import type { DataInfo, Rng } from '../../contracts/services';
import type { PluginKind } from '../../kinds';
import type { ModuleSubject } from '../module-checks';
import type { CheckRecorder } from '../report';

/** What a driver knows about the plugin it drives. */
export interface DriverContext {
  readonly info: DataInfo;
  readonly seed: number;
  /** Seeded stream for the driver's inputs. */
  readonly rng: Rng;
  /** The plugin's validated args (defaults filled in). */
  readonly args: Readonly<Record<string, unknown>>;
  /** Temporary folder the driver may write into (deleted after the run). */
  readonly scratch: string;
  /** Builds another instance of the same plugin, the same way (for state round trips). */
  rebuild(): unknown;
}

/** A model kind: the driver makes inputs and names the contract; the shared module checks do the rest. */
export interface ModelDriver {
  readonly type: 'model';
  readonly kind: PluginKind;
  /** Whether the contract requires L2-normalised output rows. */
  readonly normalised: boolean;
  /** Whether the driver has a padding probe (inputs with valid lengths). */
  readonly padding: boolean;
  subject(built: unknown, context: DriverContext): ModuleSubject;
}

/** A kind whose contract is checked by a few calls (data sets, evaluators, optimizers, schedules). */
export interface LightDriver {
  readonly type: 'light';
  readonly kind: PluginKind;
  readonly checks: readonly string[];
  /** Runs every check in {@link checks}; the last one releases what the plugin holds. */
  run(built: unknown, recorder: CheckRecorder, context: DriverContext, tensorsBeforeBuild: number): Promise<void>;
}

export type Driver = ModelDriver | LightDriver;

/** `[a, b, c]` for messages. */
export const shapeOf = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

/** A problem when `actual` is not `expected` (null entries match anything). */
export function expectShape(name: string, actual: readonly number[], expected: readonly (number | null)[]): string[] {
  const ok = actual.length === expected.length && expected.every((e, i) => e === null || e === actual[i]);
  return ok ? [] : [`${name} is ${shapeOf(actual)}, expected ${shapeOf(expected.map((e) => (e === null ? '*' : e)) as never)}`];
}
