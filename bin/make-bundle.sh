#!/usr/bin/env bash
# Builds dist/densenet-linux-x86_64.tar.xz: the CLI's shaded jar, a trimmed Java 25 runtime made by
# jlink, and a launcher, so that on a GPU server without Java
#     tar xf densenet-linux-x86_64.tar.xz && ./densenet/bin/densenet train ...
# runs. JCuda's JNI library travels inside the jar (JCuda unpacks it to java.io.tmpdir at start);
# cuDNN, cuBLAS and the driver are found on the server (see docs/CUDA.md).
#
# Usage: bin/make-bundle.sh [--skip-build]   (env: MVN_ARGS, extra Maven arguments, e.g. -o)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# shellcheck source=bin/find-jdk25.sh
source "$here/bin/find-jdk25.sh"
JAVA_HOME="$(find_jdk25)"
export JAVA_HOME

if [ "${1:-}" != "--skip-build" ]; then
  # shellcheck disable=SC2086
  ./mvnw -q ${MVN_ARGS:-} -DskipTests package
fi
jar="cli/target/densenet.jar"
[ -f "$jar" ] || { echo "error: $jar is missing; build it with ./mvnw -DskipTests package" >&2; exit 1; }

stage="$here/dist/densenet"
rm -rf "$stage" "$here/dist/densenet-linux-x86_64.tar.xz"
mkdir -p "$stage/bin" "$stage/lib"

# Only the driver-API natives are used (cuDNN and cuBLAS go through FFM): drop JCuda's runtime,
# NVRTC and PTX-compiler JNI libraries, 25 MB of the jar's 26 MB of natives.
cp "$jar" "$stage/lib/densenet.jar"
zip -q -d "$stage/lib/densenet.jar" 'lib/libJNvPTXCompiler-*' 'lib/libJNvrtc-*' 'lib/libJCudaRuntime-*' >/dev/null 2>&1 || true
unzip -l "$stage/lib/densenet.jar" 'lib/libJCudaDriver-*-linux-x86_64.so' >/dev/null \
  || { echo "error: the jar holds no lib/libJCudaDriver-*-linux-x86_64.so (jcuda-natives missing from the shaded jar)" >&2; exit 1; }

# Modules the code needs, as jdeps sees them, plus the ones reached by reflection or at run time:
# java.management (memory and thread reports), jdk.crypto.ec (HTTPS dataset downloads),
# jdk.incubator.vector when any class uses it, jdk.unsupported (libraries using sun.misc).
modules="$("$JAVA_HOME/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps "$stage/lib/densenet.jar")"
extra="java.management,jdk.crypto.ec,jdk.unsupported,jdk.zipfs"
if unzip -p "$stage/lib/densenet.jar" 'org/densenet/*' 2>/dev/null | grep -aq 'jdk/incubator/vector'; then
  extra="$extra,jdk.incubator.vector"
fi
echo "runtime modules: $modules,$extra"
"$JAVA_HOME/bin/jlink" --add-modules "$modules,$extra" --strip-debug --no-header-files --no-man-pages \
  --compress zip-6 --output "$stage/runtime"

cat > "$stage/bin/densenet" <<'LAUNCHER'
#!/bin/sh
# Launcher of the bundled DenseNet engine: the bundled Java runtime runs the bundled jar.
# DENSENET_JAVA_OPTS adds JVM options (e.g. -Xmx64g, -Ddensenet.cuda.tf32=true).
self="$0"
while [ -h "$self" ]; do
  link="$(readlink "$self")"
  case "$link" in /*) self="$link" ;; *) self="$(dirname "$self")/$link" ;; esac
done
home="$(cd "$(dirname "$self")/.." && pwd)"
# shellcheck disable=SC2086
exec "$home/runtime/bin/java" --enable-native-access=ALL-UNNAMED ${DENSENET_JAVA_OPTS:-} -jar "$home/lib/densenet.jar" "$@"
LAUNCHER
chmod +x "$stage/bin/densenet"
cp README.md "$stage/" 2>/dev/null || true
[ -f docs/CUDA.md ] && mkdir -p "$stage/docs" && cp docs/CUDA.md "$stage/docs/"

XZ_OPT="${XZ_OPT:--9 -T0}" tar -C "$here/dist" -cJf "$here/dist/densenet-linux-x86_64.tar.xz" densenet
size="$(du -h "$here/dist/densenet-linux-x86_64.tar.xz" | cut -f1)"
echo "dist/densenet-linux-x86_64.tar.xz: $size (unpacked: $(du -sh "$stage" | cut -f1))"

# Smoke test: unpack elsewhere and run it with no Java on PATH.
check="$(mktemp -d)"
trap 'rm -rf "$check"' EXIT
tar -C "$check" -xJf "$here/dist/densenet-linux-x86_64.tar.xz"
env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$check/densenet/bin/densenet" --version
env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" "$check/densenet/bin/densenet" devices
