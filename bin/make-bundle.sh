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
# shellcheck source=bin/cli-stage.sh
source "$here/bin/cli-stage.sh" # sets JAVA_HOME

if [ "${1:-}" != "--skip-build" ]; then
  # shellcheck disable=SC2086
  ./mvnw -q ${MVN_ARGS:-} -DskipTests package
fi
stage="$here/dist/densenet"
rm -f "$here/dist/densenet-linux-x86_64.tar.xz"
stage_cli "$stage"
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
