/**
 * The one place shnet loads TensorFlow.js. Everything else imports tfjs from here
 * (`import { tf } from '../backend/tf'` or `import * as tf from '../backend/tf'`), so that a native backend
 * loaded later (`@tensorflow/tfjs-node`) and the wasm backend register into the same tfjs-core instance.
 */
import * as tf from '@tensorflow/tfjs';
import { installBackwardRelease } from './backward-memory';

export * from '@tensorflow/tfjs';
export { tf };

const BANNER_MUTED = Symbol.for('shnet.cpuBannerMuted');

/**
 * The cpu backend prints a "Hi, looks like you are running TensorFlow.js in Node.js" banner the first time a
 * backend instance stores a tensor. The CLI's stdout must stay machine-readable (and stderr quiet), so every cpu
 * backend instance is created through a factory that performs that first store itself with the console muted.
 * Flags such as `PROD` or `IS_TEST` would also silence it, but they silence every other tfjs warning with it.
 */
function muteCpuBanner(): void {
  const entry = tf.engine().registryFactory['cpu'] as ({ factory: () => tf.KernelBackend | Promise<tf.KernelBackend> } & { [BANNER_MUTED]?: true }) | undefined;
  if (entry == null || entry[BANNER_MUTED]) return;
  const makeBackend = entry.factory;
  entry.factory = () => {
    const backend = makeBackend() as tf.KernelBackend;
    // The cpu backend prints a banner on creation; it is muted here, and only here.
    /* eslint-disable no-console */
    const { log, warn } = console;
    console.log = console.warn = () => {};
    try {
      backend.disposeData(backend.write(new Float32Array(1), [1], 'float32'));
    } finally {
      console.log = log;
      console.warn = warn;
    }
    /* eslint-enable no-console */
    return backend;
  };
  entry[BANNER_MUTED] = true;
}

muteCpuBanner();
// Backward passes release saved tensors and intermediate gradients once used (bit-identical gradients).
installBackwardRelease(tf.engine());
