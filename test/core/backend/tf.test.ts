import { strict as assert } from 'node:assert';
import * as tfNamespace from '../../../core/backend/tf';
import { tf } from '../../../core/backend/tf';

/** Runs `fn` and returns everything written to stdout, stderr, console.log and console.warn meanwhile. */
function captureOutput(fn: () => void): string {
  const written: string[] = [];
  const { log, warn } = console;
  const [out, err] = [process.stdout.write, process.stderr.write];
  console.log = console.warn = (...args: unknown[]) => void written.push(args.join(' '));
  process.stdout.write = process.stderr.write = ((chunk: string) => written.push(String(chunk)) > 0) as never;
  try {
    fn();
  } finally {
    Object.assign(console, { log, warn });
    [process.stdout.write, process.stderr.write] = [out, err];
  }
  return written.join('');
}

/** Creates a cpu backend instance and stores its first tensor, as the engine does on first use. */
const firstWrite = (backend: tf.KernelBackend) => backend.disposeData(backend.write(new Float32Array([1]), [1], 'float32'));

describe('core/backend/tf', () => {
  it('exposes tfjs both as a namespace and as `tf`, one tfjs-core instance', () => {
    assert.equal(tfNamespace.engine(), tf.engine());
    assert.equal(typeof tfNamespace.matMul, 'function');
  });

  it('creates cpu backends that print no "running TensorFlow.js in Node.js" banner', () => {
    const stock = new tf.MathBackendCPU();
    assert.match(
      captureOutput(() => firstWrite(stock)),
      /looks like you are running TensorFlow\.js in Node\.js/,
      'the stock backend prints it',
    );
    stock.dispose();
    const registered = tf.findBackendFactory('cpu')() as tf.KernelBackend;
    assert.equal(
      captureOutput(() => firstWrite(registered)),
      '',
    );
    registered.dispose();
  });
});
