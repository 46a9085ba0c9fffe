#!/usr/bin/env bash
# Opt-in native backend: builds @tensorflow/tfjs-node 4.22.0 against the TensorFlow 2.9.1 C library that ships
# inside PyPI's tensorflow-cpu 2.9.1 wheel, because the package's own install step downloads libtensorflow from a
# host outside the package registries. Run from the repository root: `npm run native` (about 2 minutes, ~750 MB in
# .cache/native and node_modules). Afterwards `selectBackend('auto')` picks `tensorflow`. Undo: `npm run native -- --remove`.
#
# Why each step is needed (docs/performance.md, "Native backend", has the measurements):
# - tfjs-node 4.22 was built against libtensorflow 2.9.1, so the wheel of the same version gives the same C API
#   (c_api.h, eager/c_api.h) and the same op set.
# - The wheel has no libtensorflow.so: the TF_*/TFE_* C API (555 symbols) lives in
#   tensorflow/python/_pywrap_tensorflow_internal.so, next to tensorflow/libtensorflow_framework.so.2. That library
#   is also a Python extension: it references 187 Python C-API symbols (PyExc_TypeError, PyLong_Type, …) that Node
#   does not have, and its data references must resolve when it is loaded. A generated stub library defines them
#   (functions abort with a message if ever called; nothing on the C-API path calls them).
# - gcc here links with --as-needed, so a stub the addon does not reference itself would be dropped. deps/lib/libtensorflow.so
#   is therefore a GNU ld script naming both libraries: the addon then records the C-API library (by its soname,
#   _pywrap_tensorflow_internal.so) and the stub, found at run time through the addon's rpath $ORIGIN/../../deps/lib.
# - With deps/lib/libtensorflow.so.2.9.1 present, the package's scripts/install.js skips its download and runs
#   node-pre-gyp, whose prebuilt-addon download fails and falls back to compiling binding/*.cc with node-gyp.
#   node-gyp gets Node's headers from the local installation (npm_config_nodedir) instead of downloading them.
set -euo pipefail

TF_VERSION=2.9.1
TFJS_NODE_VERSION=4.22.0
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE="$ROOT/.cache/native"
PKG="$ROOT/node_modules/@tensorflow/tfjs-node"
cd "$ROOT"

if [[ "${1:-}" == "--remove" ]]; then
  rm -rf "$PKG"
  echo "removed $PKG (shnet falls back to wasm)"
  exit 0
fi

for tool in gcc g++ make readelf unzip python3; do
  command -v "$tool" >/dev/null || { echo "build-native: '$tool' is required" >&2; exit 1; }
done

step() { echo "== $*"; }

# 1. The package, without its install script (which would download libtensorflow). It stays an optional peer
#    dependency, out of package.json and the lockfile: npm will not add a root peer with --no-save, so it is installed
#    in a staging folder and moved in, its own dependencies nested under it. Its @tensorflow/tfjs dependency is left
#    out so that it resolves to shnet's copy: one tfjs-core, in which the native backend and the wasm one register.
STAGE="$CACHE/npm"
if [[ ! -f "$PKG/package.json" ]] || [[ $(node -p "require('$PKG/package.json').version") != "$TFJS_NODE_VERSION" ]]; then
  step "npm install --ignore-scripts @tensorflow/tfjs-node@$TFJS_NODE_VERSION (staged in $STAGE)"
  rm -rf "$STAGE" "$PKG" && mkdir -p "$STAGE"
  echo '{"name": "shnet-native-stage", "private": true}' > "$STAGE/package.json"
  npm install --prefix "$STAGE" --ignore-scripts --no-audit --no-fund --no-package-lock "@tensorflow/tfjs-node@$TFJS_NODE_VERSION"
  mv "$STAGE/node_modules/@tensorflow/tfjs-node" "$PKG"
  mkdir -p "$PKG/node_modules"
  for dep in "$STAGE"/node_modules/* "$STAGE"/node_modules/.bin; do
    [[ "$(basename "$dep")" == "@tensorflow" ]] || mv "$dep" "$PKG/node_modules/"
  done
  rm -rf "$STAGE"
fi

# 2. The wheel (any Python can download it: the tags are given explicitly).
WHEEL_DIR="$CACHE/wheels"
WHEEL=$(ls "$WHEEL_DIR"/tensorflow_cpu-$TF_VERSION-*.whl 2>/dev/null | head -n 1 || true)
if [[ -z "$WHEEL" ]]; then
  step "pip download tensorflow-cpu==$TF_VERSION (207 MB)"
  python3 -m pip download --no-deps "tensorflow-cpu==$TF_VERSION" --python-version 3.10 --only-binary=:all: \
    --platform manylinux2014_x86_64 -d "$WHEEL_DIR"
  WHEEL=$(ls "$WHEEL_DIR"/tensorflow_cpu-$TF_VERSION-*.whl | head -n 1)
fi

# 3. The C API library, the framework library and the C headers out of the wheel.
TF="$CACHE/tensorflow-$TF_VERSION"
if [[ ! -f "$TF/tensorflow/python/_pywrap_tensorflow_internal.so" ]]; then
  step "unpacking $(basename "$WHEEL")"
  rm -rf "$TF" && mkdir -p "$TF"
  unzip -q -o "$WHEEL" 'tensorflow/libtensorflow_framework.so.2' 'tensorflow/python/_pywrap_tensorflow_internal.so' \
    'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' -d "$TF"
fi
CAPI="$TF/tensorflow/python/_pywrap_tensorflow_internal.so"
DYNSYMS=$(readelf --dyn-syms -W "$CAPI")
for symbol in TF_Version TFE_NewContext TFE_Execute TF_NewTensor; do
  awk -v s="$symbol" '$7 != "UND" { sub(/@.*/, "", $8); if ($8 == s) found = 1 } END { exit !found }' <<<"$DYNSYMS" \
    || { echo "build-native: $CAPI does not export $symbol" >&2; exit 1; }
done

# 4. deps/ as the package's build expects it.
step "staging deps/lib and deps/include"
rm -rf "$PKG/deps" "$PKG/lib" "$PKG/build"
mkdir -p "$PKG/deps/lib" "$PKG/deps/include"
cp -r "$TF/tensorflow/include/tensorflow" "$PKG/deps/include/"
LIB="$PKG/deps/lib"
cp "$CAPI" "$LIB/libtensorflow.so.$TF_VERSION"
ln -s "libtensorflow.so.$TF_VERSION" "$LIB/_pywrap_tensorflow_internal.so" # its soname: what the addon records
ln -s "libtensorflow.so.$TF_VERSION" "$LIB/libtensorflow.so.2"
cp "$TF/tensorflow/libtensorflow_framework.so.2" "$LIB/"
ln -s libtensorflow_framework.so.2 "$LIB/libtensorflow_framework.so"

# The Python stub: data symbols (type objects, exception objects, None/True/False) become zeroed storage, the
# rest functions that abort naming themselves.
awk '$7 == "UND" && $8 ~ /^_?Py/ { print $8 }' <<<"$DYNSYMS" | sort -u | python3 -c '
import re, sys
data = re.compile(r"(_Type|Struct)$|^PyExc_")
print("#include <stdio.h>\n#include <stdlib.h>")
for name in sys.stdin.read().split():
    if data.search(name):
        print(f"__attribute__((aligned(64))) char {name}[1024];")
    else:
        print(f"void {name}(void) {{ fputs(\"tfjs-node: Python C-API function {name} called outside Python\\n\", stderr); abort(); }}")
' > "$CACHE/pystub.c"
gcc -shared -fPIC -O1 -o "$LIB/libtensorflow_pystub.so" -Wl,-soname,libtensorflow_pystub.so "$CACHE/pystub.c"
printf 'INPUT(libtensorflow.so.%s libtensorflow_pystub.so)\n' "$TF_VERSION" > "$LIB/libtensorflow.so"

# 5. The addon, through the package's own install script.
step "building tfjs_binding.node"
NODEDIR=$(node -p "require('path').resolve(process.execPath, '../..')")
if [[ ! -f "$NODEDIR/include/node/node_api.h" ]]; then
  echo "build-native: Node headers not found under $NODEDIR/include/node" >&2
  exit 1
fi
(cd "$PKG" && PATH="$PKG/node_modules/.bin:$PATH" npm_config_nodedir="$NODEDIR" node scripts/install.js)
ls "$PKG"/lib/napi-v*/tfjs_binding.node >/dev/null

# 6. Smoke test: load, multiply, differentiate.
step "smoke test"
node -e "
const tf = require('@tensorflow/tfjs-node');
const x = tf.tensor2d([[1, 2], [3, 4]]);
const y = tf.matMul(x, tf.tensor2d([[5, 6], [7, 8]])).arraySync();
const g = tf.grad((w) => tf.matMul(x, w).square().sum())(tf.tensor2d([[5, 6], [7, 8]])).arraySync();
const ok = JSON.stringify(y) === '[[19,22],[43,50]]' && JSON.stringify(g) === '[[296,344],[420,488]]';
console.log('tfjs-node', tf.version['tfjs-node'], 'on TensorFlow', '$TF_VERSION', 'backend', tf.getBackend(), ok ? 'OK' : 'WRONG', JSON.stringify({ y, g }));
process.exit(ok ? 0 : 1);
" 2> >(grep -v -e 'oneDNN custom operations' -e 'rebuild TensorFlow with the appropriate' -e 'cpu_feature_guard' >&2)
echo "native backend ready: selectBackend('auto') now picks 'tensorflow'"
