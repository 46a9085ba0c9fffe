/**
 * The import rules of docs/architecture.md ("Layers"), checked on the sources: core never imports plugins; plugins
 * reach core only through the public `shnet` module; a plugin imports no other plugin's files; core's folders
 * import only downwards.
 */
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from '../support/python-env';

/** Core's folders (and top-level files) from the bottom up; a module may import its own layer's or lower ones'. */
const CORE_LAYERS: readonly (readonly string[])[] = [
  ['errors', 'kinds', 'version', 'tokens', 'contracts', 'run-folder', 'atomic-write', 'shell-word'],
  ['backend', 'services'],
  ['nn'],
  ['io', 'search'],
  ['registry'],
  ['recipe'],
  ['di', 'build'],
  ['train', 'conformance'],
  ['run'],
  ['sweep', 'serve'],
  ['cli'],
  ['index'],
];

/** Libraries whose single instance the host shares with plugins: plugins get them from `shnet`. */
const SHARED_LIBRARIES = ['@tensorflow/tfjs', '@tensorflow/tfjs-core', 'inversify', '@sinclair/typebox'];

interface ImportEdge {
  readonly from: string;
  /** Repository-relative target for relative imports; the bare specifier otherwise. */
  readonly to: string;
  readonly relative: boolean;
}

function sourceFiles(folder: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(REPO_ROOT, folder))) {
    const path = join(folder, name);
    if (statSync(join(REPO_ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

function importsOf(file: string): ImportEdge[] {
  const text = readFileSync(join(REPO_ROOT, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
  const edges: ImportEdge[] = [];
  const add = (specifier: string): void => {
    const isRelative = specifier.startsWith('.');
    const to = isRelative ? relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), specifier)) : specifier;
    edges.push({ from: file, to, relative: isRelative });
  };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.getText(source) === 'require' &&
      node.arguments.length === 1 &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      add(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return edges;
}

/** `core/train/engine.ts` → `train`; `core/index.ts` → `index`. */
function coreUnit(path: string): string {
  const [, first] = path.split('/');
  return first.replace(/\.ts$/, '');
}

function layerOf(unit: string): number {
  const layer = CORE_LAYERS.findIndex((units) => units.includes(unit));
  assert.notEqual(layer, -1, `core/${unit} is in no layer of CORE_LAYERS: add it where it belongs`);
  return layer;
}

const coreEdges = sourceFiles('core').flatMap(importsOf);
const pluginEdges = sourceFiles('plugins').flatMap(importsOf);

describe('layering (docs/architecture.md)', () => {
  it('core imports nothing from plugins/', () => {
    const bad = coreEdges.filter((e) => e.relative && e.to.startsWith('plugins'));
    assert.deepEqual(bad, []);
  });

  it('plugins reach core only through the public shnet module', () => {
    const bad = pluginEdges
      .filter((e) => (e.relative && (e.to === 'core' || e.to.startsWith('core/'))) || SHARED_LIBRARIES.includes(e.to))
      .map((e) => `${e.from} imports ${e.to}`);
    assert.deepEqual(bad, [], 'import these from "shnet" (core/index.ts exports what plugins need)');
  });

  it("a plugin imports no other plugin's files (only the built-in manifest lists them all)", () => {
    const ownFolder = (file: string): string => {
      const parts = file.split('/');
      // plugins/<kind>/<name>.ts or plugins/<kind>/<name>/…
      return parts.length > 3 ? parts.slice(0, 3).join('/') : file.replace(/\.ts$/, '');
    };
    const bad = pluginEdges
      .filter((e) => e.relative && e.from !== 'plugins/manifest.ts')
      .filter((e) => {
        const own = ownFolder(e.from);
        return e.to !== own && !e.to.startsWith(`${own}/`);
      })
      .map((e) => `${e.from} imports ${e.to}`);
    assert.deepEqual(bad, []);
  });

  it("core's folders import only their own layer or lower ones (CLI → run → train → …; sweeps call into run)", () => {
    const bad = coreEdges
      .filter((e) => e.relative && e.to.startsWith('core/'))
      .filter((e) => coreUnit(e.from) !== coreUnit(e.to) && layerOf(coreUnit(e.to)) > layerOf(coreUnit(e.from)))
      .map((e) => `${e.from} imports ${e.to}`);
    assert.deepEqual(bad, []);
  });

  it('the checks see the imports they are about (a plugin importing shnet, a core file importing another)', () => {
    assert.ok(pluginEdges.some((e) => e.from === 'plugins/highlight/spatial.ts' && e.to === 'shnet'));
    assert.ok(coreEdges.some((e) => e.from === 'core/run/run.ts' && e.to.startsWith('core/train/')));
  });
});
