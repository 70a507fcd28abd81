#!/usr/bin/env bash
# Builds .bundle/gpu-kit.tar.xz: everything needed to validate the engine on a GPU server that has
# the NVIDIA driver, cuDNN 9, cuBLAS and python3 with PyTorch, but no Java, Maven or network:
#     gpu-kit/run.sh          the runner (scripts/gpu-kit/run.sh): tests, benchmarks, a short training run
#     gpu-kit/densenet/       the CLI with its jlinked Java 25 runtime (as bin/make-bundle.sh lays it out,
#                             the runtime also holding what JUnit's console launcher needs)
#     gpu-kit/test/           engine/ and tests/ (the test classes and resources of those modules),
#                             junit-platform-console-standalone.jar, lib/ (test-classpath jars that
#                             neither densenet.jar nor the launcher already hold)
#     gpu-kit/scripts/bench/  the PyTorch peer of `densenet bench step`
# On the server: tar xf gpu-kit.tar.xz -C /tmp && /tmp/gpu-kit/run.sh RESULTS_DIR  (docs/CUDA.md).
#
# Usage: bin/make-gpu-kit.sh [--skip-build]   (env: MVN_ARGS, extra Maven arguments, e.g. -o)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
# shellcheck source=bin/cli-stage.sh
source "$here/bin/cli-stage.sh" # sets JAVA_HOME

# Each module's test classpath goes to <module>/target/test-classpath.txt.
if [ "${1:-}" != "--skip-build" ]; then
  # shellcheck disable=SC2086
  ./mvnw -q ${MVN_ARGS:-} -DskipTests package dependency:build-classpath \
    -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt
fi
for m in engine tests; do
  [ -f "$m/target/test-classpath.txt" ] && [ -d "$m/target/test-classes" ] \
    || { echo "error: $m/target/test-classes or test-classpath.txt is missing; run bin/make-gpu-kit.sh without --skip-build" >&2; exit 1; }
done
classpath="$(cat engine/target/test-classpath.txt; echo; cat tests/target/test-classpath.txt)"

# JUnit's console launcher, of the platform version the tests are built against.
platform_jar="$(tr ':' '\n' <<<"$classpath" | grep -m1 '/junit-platform-engine-[0-9][^/]*\.jar$')" \
  || { echo "error: junit-platform-engine is not on the test classpath" >&2; exit 1; }
version="$(basename "$platform_jar" .jar)"
version="${version#junit-platform-engine-}"
console="$(dirname "$(dirname "$(dirname "$platform_jar")")")/junit-platform-console-standalone/$version/junit-platform-console-standalone-$version.jar"
if [ ! -f "$console" ]; then
  # shellcheck disable=SC2086
  ./mvnw -q ${MVN_ARGS:-} dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$version" -Dtransitive=false
fi
[ -f "$console" ] || { echo "error: $console is missing after dependency:get" >&2; exit 1; }

kit="$here/.bundle/gpu-kit"
rm -rf "$kit" "$here/.bundle/gpu-kit.tar.xz"
mkdir -p "$kit/test/lib" "$kit/scripts"
cp -r engine/target/test-classes "$kit/test/engine"
cp -r tests/target/test-classes "$kit/test/tests"
cp "$console" "$kit/test/junit-platform-console-standalone.jar"

# A classpath jar travels only when some of its files are in neither the shaded jar (which holds
# the modules and their dependencies) nor the console launcher (which holds JUnit): jcuda-natives
# alone is 26 MB.
held="$(mktemp)"
trap 'rm -f "$held"' EXIT
{ unzip -Z1 cli/target/densenet.jar; unzip -Z1 "$console"; } | sort -u >"$held"
while IFS= read -r entry; do
  case "$entry" in *.jar) ;; *) continue ;; esac
  missing="$({ unzip -Z1 "$entry" | grep -v -E '^META-INF/|/$|(^|/)module-info\.class$' || true; } | sort -u | comm -23 - "$held" | wc -l)"
  if [ "$missing" -gt 0 ]; then
    cp "$entry" "$kit/test/lib/"
    echo "test classpath adds $(basename "$entry") ($missing files the kit lacks otherwise)"
  fi
done < <(tr ':' '\n' <<<"$classpath" | sort -u)

# xz compresses the runtime far better than jlink's own zip does.
shopt -s nullglob
extra_jars=("$kit"/test/lib/*.jar)
shopt -u nullglob
JLINK_COMPRESS=zip-0 stage_cli "$kit/densenet" "$kit/test/junit-platform-console-standalone.jar" \
  "$kit/test/engine" "$kit/test/tests" "${extra_jars[@]}"

cp scripts/gpu-kit/run.sh "$kit/run.sh"
cp -r scripts/bench "$kit/scripts/bench"
rm -rf "$kit/scripts/bench/__pycache__"
# The peer builds its networks with the fixtures' reference module (it puts ../fixtures on sys.path).
mkdir -p "$kit/scripts/fixtures"
cp scripts/fixtures/densenet_ref.py "$kit/scripts/fixtures/"
# The JPEG generator of the kit's `data` step, compiled: the kit's runtime has no compiler.
"$JAVA_HOME/bin/javac" --release 25 -d "$kit/scripts/bench" scripts/bench/MakeImageFolder.java
{
  echo "commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo ' with uncommitted changes'), built $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "JUnit platform $version; runtime: $("$kit/densenet/runtime/bin/java" --list-modules | sed 's/@.*//' | paste -sd' ' -)"
} >"$kit/KIT.txt"

XZ_OPT="${XZ_OPT:--9 -T0}" tar -C "$here/.bundle" -cJf "$here/.bundle/gpu-kit.tar.xz" gpu-kit
echo ".bundle/gpu-kit.tar.xz: $(du -h .bundle/gpu-kit.tar.xz | cut -f1) ($(stat -c %s .bundle/gpu-kit.tar.xz) bytes; unpacked: $(du -sh "$kit" | cut -f1))"

# Smoke test: unpack elsewhere and, with no Java on PATH, run the steps that need no GPU to pass:
# discovery (NCCL's too), the gpu tests, which must be found (and are skipped with the reason
# without a GPU), the cuDNN probe (which must say in one line that it needs a GPU, and is then
# skipped), and the input-pipeline step, which needs no GPU.
check="$(mktemp -d)"
trap 'rm -f "$held"; rm -rf "$check"' EXIT
tar -C "$check" -xJf "$here/.bundle/gpu-kit.tar.xz"
env -i PATH=/usr/bin:/bin HOME="${HOME:-/tmp}" KIT_STEPS=devices,nccl,tests,probe-cudnn,data "$check/gpu-kit/run.sh" "$check/results" >/dev/null 2>&1 || true
sed -n '/^step /,/^$/{/^results:/d;p}' "$check/results/summary.txt"
grep -Eq '^tests +(ok|skipped).* [1-9][0-9]* found' "$check/results/summary.txt" \
  || { echo "error: the kit's test run found no tests or failed:" >&2; cat "$check/results/summary.txt" >&2; exit 1; }
grep -Eq '^nccl +ok .*nccl: ' "$check/results/summary.txt" \
  || { echo "error: the kit's nccl step said nothing about NCCL:" >&2; cat "$check/results/summary.txt" >&2; exit 1; }
grep -Eq '^probe-cudnn +(ok|skipped \(no usable GPU\) +[0-9]+ +error: .*)' "$check/results/summary.txt" \
  || { echo "error: the kit's probe-cudnn step neither ran nor said why it could not:" >&2; cat "$check/results/summary.txt" >&2; exit 1; }
grep -Eq '^data +ok .*fastest: ' "$check/results/summary.txt" \
  || { echo "error: the kit's data step failed:" >&2; cat "$check/results/summary.txt" >&2; exit 1; }
