#!/usr/bin/env bash
# The host's share of a GPU training step: runs `densenet bench step --device cuda` against a
# "null device", the stand-in libcuda/cuDNN/cuBLAS of the tests (engine/src/test/resources/.../fake)
# built with -DDN_NULL_DEVICE. Every call is checked as the real libraries would check it, then
# dropped (kernels, cuDNN convolutions, SGEMMs, device copies and fills do nothing; host transfers
# still copy), and the timing events read the host's clock. What is left is the time our code and
# the JVM spend issuing a step: the least a GPU step can take when the GPU itself is infinitely fast,
# before the real driver's own cost per call (a few microseconds per launch, more per cuDNN call).
#
# Usage: bin/host-overhead.sh [bench step options]
#   default: --model densenet-bc-100-12 -b 64 --compare-memory --warmup 50 --repeats 200
# Needs cc and g++ (the stand-ins are built into target/null-device on every run, a few seconds).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$here/engine/src/test/resources/org/densenet/engine/cuda/fake"
out="$here/target/null-device"
mkdir -p "$out"
for tool in cc g++; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed to build the null device (apt-get install gcc g++)" >&2; exit 1; }
done
g++ -shared -fPIC -O2 -ffp-contract=off -Wl,-soname,libcuda.so.1 -DDN_EMULATED_KERNELS -DDN_NULL_DEVICE \
  -I"$here/kernels/src/main/cuda" -o "$out/libcuda.so.1" -x c "$src/fake_cuda.c" -x c++ "$src/cuda_emulator.cpp"
cc -shared -fPIC -O2 -DDN_DEFAULT_ALGORITHM -DDN_NULL_DEVICE -Wl,-soname,libcudnn.so.9 -o "$out/libcudnn.so.9" "$src/fake_cudnn.c"
cc -shared -fPIC -O2 -DDN_NULL_DEVICE -Wl,-soname,libcublas.so.13 -o "$out/libcublas.so.13" "$src/fake_cublas.c"
if [ $# -eq 0 ]; then
  set -- --model densenet-bc-100-12 -b 64 --compare-memory --warmup 50 --repeats 200
fi
echo "null device: $out (calls checked, then dropped; times are the host's alone)" >&2
LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" DENSENET_CUDA_LIBS="$out" \
  exec "$here/densenet" bench step --device cuda "$@"
