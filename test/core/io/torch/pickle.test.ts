import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTorchFile, toPlain, unpickle, type PickleGlobal } from '../../../../core/io/torch';
import { UsageError } from '../../../../core/errors';
import { runPython } from '../../../support/python-env';

/** Pickles a Python expression with `protocol` and returns the bytes. */
function pickled(expression: string, protocol: number, prelude = ''): Uint8Array {
  const hex = runPython(`import pickle, collections, sys\n${prelude}\nsys.stdout.write(pickle.dumps(${expression}, protocol=${protocol}).hex())`);
  return Buffer.from(hex, 'hex');
}

const ORDERED_DICT: PickleGlobal = { qualifiedName: 'collections.OrderedDict', call: (args) => new Map((args[0] as [unknown, unknown][]) ?? []) };
// Protocol 2 writes bytes as _codecs.encode(text, 'latin1').
const CODECS_ENCODE: PickleGlobal = { qualifiedName: '_codecs.encode', call: ([text]) => Uint8Array.from(Buffer.from(text as string, 'latin1')) };
const onlyOrderedDict = (module: string, name: string): PickleGlobal => {
  if (`${module}.${name}` === 'collections.OrderedDict') return ORDERED_DICT;
  if (`${module}.${name}` === '_codecs.encode') return CODECS_ENCODE;
  throw new Error(`refused ${module}.${name}`);
};

describe('safe pickle machine', () => {
  // Protocol 2 is what torch.save writes; 4 adds framing, MEMOIZE, STACK_GLOBAL and short strings.
  for (const protocol of [2, 4]) {
    it(`decodes Python values written with protocol ${protocol}`, () => {
      const shared = '[1, 2]';
      const bytes = pickled(
        `{'int': 7, 'neg': -300000, 'big': 2**70, 'float': 0.1, 'str': 'héllo', 'none': None, 't': True, 'f': False,
          'tuple': (1, 'a', (2.5,)), 'list': [shared, shared], 'bytes': b'\\x00\\xff', 'od': collections.OrderedDict([('b', 1), ('a', 2)]),
          1: 'int key', 'long': 'x' * 300}`,
        protocol,
        `shared = ${shared}`,
      );
      const value = unpickle(bytes, { resolveGlobal: onlyOrderedDict }) as Map<unknown, unknown>;
      assert.equal(value.get('int'), 7);
      assert.equal(value.get('neg'), -300000);
      assert.equal(value.get('big'), 2n ** 70n);
      assert.equal(value.get('float'), 0.1);
      assert.equal(value.get('str'), 'héllo');
      assert.equal(value.get('none'), null);
      assert.equal(value.get('t'), true);
      assert.equal(value.get('f'), false);
      assert.deepEqual(value.get('tuple'), [1, 'a', [2.5]]);
      assert.ok(Object.isFrozen(value.get('tuple')));
      const list = value.get('list') as unknown[][];
      assert.deepEqual(list, [
        [1, 2],
        [1, 2],
      ]);
      assert.equal(list[0], list[1], 'a shared object stays shared (memo)');
      assert.deepEqual([...(value.get('bytes') as Uint8Array)], [0, 255]);
      assert.deepEqual(
        [...(value.get('od') as Map<string, number>)],
        [
          ['b', 1],
          ['a', 2],
        ],
      );
      assert.equal(value.get(1), 'int key');
      assert.equal(value.get('long'), 'x'.repeat(300));
    });
  }

  it('refuses any global the resolver does not allow, before calling anything', () => {
    const bytes = pickled('Exploit()', 2, "import os\nclass Exploit:\n    def __reduce__(self): return (os.system, ('echo pwned',))");
    assert.throws(() => unpickle(bytes, { resolveGlobal: onlyOrderedDict }), /refused posix\.system/);
  });

  it('reports a truncated pickle with the byte position', () => {
    const bytes = pickled("{'a': [1, 2, 3]}", 2);
    assert.throws(() => unpickle(bytes.subarray(0, bytes.length - 3), { resolveGlobal: onlyOrderedDict, source: 'cut.pkl' }), /cut\.pkl: .*\(byte \d+\)/);
  });

  it('readTorchFile refuses a checkpoint whose pickle names a global outside the allow-list, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shnet-pickle-'));
    const file = join(dir, 'evil.pth');
    runPython(
      `import sys, os, pickle, zipfile
class Exploit:
    def __reduce__(self): return (os.system, ('echo pwned',))
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    z.writestr('archive/data.pkl', pickle.dumps({'model': Exploit()}, protocol=2))
    z.writestr('archive/version', '3\\n')`,
      [file],
    );
    assert.throws(
      () => readTorchFile(file),
      (e: Error) => e instanceof UsageError && e.message.includes("'posix.system'") && e.message.includes('allow-list') && e.message.includes(file),
    );
  });

  it('toPlain turns string-keyed dicts into objects and keeps other dicts as Maps', () => {
    const plain = toPlain(new Map<unknown, unknown>([['a', new Map([['b', [1, new Map([[2, 'x']])]]])]])) as { a: { b: [number, Map<number, string>] } };
    assert.deepEqual(plain.a.b[0], 1);
    assert.ok(plain.a.b[1] instanceof Map);
  });
});
