#!/usr/bin/env bash
# Builds the committed kernel image: every family in src/main/cuda (through the single translation
# unit all.cu) into ONE fatbin with SASS for each architecture in SASS_ARCHS and PTX for the newest
# one (which the driver JIT-compiles for any newer GPU), plus a manifest of what it was built from.
# The Maven build never runs nvcc; KernelImageTest fails when a source no longer matches the manifest.
#
# Usage: kernels/build-fatbin.sh            (needs nvcc; CUDA 13 supports sm_75 and newer)
# Note: CUDA 13's PTX is ISA 9.0, which needs a driver of the R580 family or newer to JIT.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
src="$here/src/main/cuda"
out="$here/src/main/resources/org/densenet/kernels"
SASS_ARCHS="75 80 86 89 90 100 120"
PTX_ARCH="120"
# Uncompressed, so the tests can read architectures and entry names out of the fatbin without
# cuobjdump; compression saves under 10% here because only the PTX compresses well.
FLAGS="-O3 -Werror all-warnings -fatbin --compress-mode=none"

command -v nvcc >/dev/null || { echo "nvcc not found on PATH; install the CUDA toolkit (13.x)" >&2; exit 1; }
mkdir -p "$out"

gencode=""
for a in $SASS_ARCHS; do gencode="$gencode -gencode=arch=compute_$a,code=sm_$a"; done
gencode="$gencode -gencode=arch=compute_$PTX_ARCH,code=compute_$PTX_ARCH"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# shellcheck disable=SC2086
(cd "$src" && nvcc $FLAGS $gencode -o "$tmp/densenet.fatbin" all.cu)
# The exported names, as the compiler sees them (not as a grep of the sources would guess).
(cd "$src" && nvcc -ptx -arch=compute_$PTX_ARCH -o "$tmp/all.ptx" all.cu)
kernels="$(sed -n 's/^\.visible \.entry \([A-Za-z0-9_]*\)(.*/\1/p' "$tmp/all.ptx" | sort | paste -sd, -)"
[ -n "$kernels" ] || { echo "no kernel entry points found in the PTX" >&2; exit 1; }

version="$(nvcc --version | sed -n 's/.*release [0-9.]*, V\([0-9.]*\).*/\1/p')"
{
    echo "# Written by kernels/build-fatbin.sh; do not edit. Checked by KernelImageTest."
    echo "nvcc.version=$version"
    echo "nvcc.flags=$FLAGS"
    echo "arch.sass=$(echo $SASS_ARCHS | tr ' ' ,)"
    echo "arch.ptx=$PTX_ARCH"
    echo "kernels=$kernels"
    echo "fatbin.sha256=$(sha256sum "$tmp/densenet.fatbin" | cut -d' ' -f1)"
    for f in $(cd "$src" && ls -1 *.cu *.cuh | LC_ALL=C sort); do
        echo "source.$f=$(sha256sum "$src/$f" | cut -d' ' -f1)"
    done
} > "$tmp/manifest.properties"

mv "$tmp/densenet.fatbin" "$out/densenet.fatbin"
mv "$tmp/manifest.properties" "$out/manifest.properties"
echo "wrote $out/densenet.fatbin ($(stat -c %s "$out/densenet.fatbin") bytes) with $(echo "$kernels" | tr , '\n' | wc -l) kernels"
