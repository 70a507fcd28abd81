#!/usr/bin/env bash
# The host's share of a GPU training step: runs `densenet bench step --device cuda` against a
# "null device", the stand-in libcuda/cuDNN/cuBLAS of the tests (engine/src/test/resources/.../fake)
# built with -DDN_NULL_DEVICE (bin/emulated-device.sh --null). Every call is checked as the real
# libraries would check it, then dropped (kernels, cuDNN convolutions, SGEMMs, device copies and
# fills do nothing; host transfers still copy), and the timing events read the host's clock. What is
# left is the time our code and the JVM spend issuing a step: the least a GPU step can take when the
# GPU itself is infinitely fast, before the real driver's own cost per call (a few microseconds per
# launch, more per cuDNN call). The benchmark runs twice, with CUDA graphs on (one graph launch per
# step, after capture) and off (every op issued each step), so both are measured in one run.
#
# Usage: bin/host-overhead.sh [bench step options]
#   default: --model densenet-bc-100-12 -b 64 --compare-memory --warmup 50 --repeats 200
# Needs cc and g++ (the stand-ins are built into target/null-device on every run, a few seconds).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
eval "$("$here/bin/emulated-device.sh" --null "$here/target/null-device")"
if [ $# -eq 0 ]; then
  set -- --model densenet-bc-100-12 -b 64 --compare-memory --warmup 50 --repeats 200
fi
echo "null device: $DENSENET_CUDA_LIBS (calls checked, then dropped; times are the host's alone)" >&2
for graphs in on off; do
  echo "== CUDA graphs $graphs" >&2
  "$here/densenet" bench step --device cuda --cuda-graphs "$graphs" "$@"
done
