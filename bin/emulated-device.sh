#!/usr/bin/env bash
# Builds the emulated device's stand-in libraries (engine/src/test/resources/.../cuda/fake: a
# libcuda.so.1 that runs the project's kernels on the CPU, a cuDNN and a cuBLAS that compute from
# their definitions, an NCCL whose ranks are threads of one process) into a folder, and prints the two lines that make `densenet ... --device cuda`
# run on it. The device is slow (direct convolutions on one core): keep networks and images tiny.
#
# Usage: bin/emulated-device.sh [--null] [FOLDER]
#   FOLDER  where the libraries go (default: target/emulated-device, or target/null-device with --null)
#   --null  a null device instead: every call is checked, then its work dropped, so whole-size
#           networks run in the time the host takes to issue them (what bin/host-overhead.sh times)
# Then, e.g.:
#   eval "$(bin/emulated-device.sh)"
#   ./densenet train --device cuda --dataset synthetic --image-size 8 --depth 10 --growth 4 -b 8 --epochs 1
#   DN_FAKE_GPUS=2 ./densenet bench step --gpus 2 --depth 10 --growth 4 -b 8 --image-size 8
# Needs cc and g++.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
src="$here/engine/src/test/resources/org/densenet/engine/cuda/fake"
null=()
name=emulated-device
if [ "${1:-}" = "--null" ]; then
  null=(-DDN_NULL_DEVICE)
  name=null-device
  shift
fi
out="${1:-$here/target/$name}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
for tool in cc g++; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed to build the stand-in libraries (apt-get install gcc g++)" >&2; exit 1; }
done
g++ -shared -fPIC -O2 -ffp-contract=off -Wl,-soname,libcuda.so.1 -DDN_EMULATED_KERNELS "${null[@]}" \
  -I"$here/kernels/src/main/cuda" -o "$out/libcuda.so.1" -x c "$src/fake_cuda.c" -x c++ "$src/cuda_emulator.cpp"
cc -shared -fPIC -O2 -DDN_DEFAULT_ALGORITHM "${null[@]}" -Wl,-soname,libcudnn.so.9 -o "$out/libcudnn.so.9" "$src/fake_cudnn.c"
cc -shared -fPIC -O2 "${null[@]}" -Wl,-soname,libcublas.so.13 -o "$out/libcublas.so.13" "$src/fake_cublas.c"
cc -shared -fPIC -O2 -pthread -Wl,-soname,libnccl.so.2 -o "$out/libnccl.so.2" "$src/fake_nccl.c"
echo "# ${name/-/ } in $out" >&2
echo "export LD_LIBRARY_PATH=\"$out\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\""
echo "export DENSENET_CUDA_LIBS=\"$out\""
