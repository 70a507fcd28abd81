#!/usr/bin/env bash
# Validates the engine on a GPU server in one go, with the GPU kit built by bin/make-gpu-kit.sh
# (no Java, Maven or network needed there): system and library discovery (NCCL's too), the gpu-tagged tests,
# the cuDNN probe of 16-bit convolution layouts, the training-step benchmarks beside PyTorch (float32, and densenet-bc-100-12 with TF32 on both
# sides; densenet121 at 224 pixels), the per-op benchmarks (densenet-bc-100-12, densenet121), the
# memory benchmark, a short training run on synthetic data, the input pipeline on generated JPEGs
# (libjpeg-turbo beside javax.imageio), short bf16 and fp16 training runs and a bf16 training-step benchmark,
# and the kernel parity tests under compute-sanitizer's memcheck and racecheck.
#
# Usage: run.sh [RESULTS_DIR]   (default: $OUT, else ./gpu-kit-results)
#   KIT_BUDGET_S  seconds for everything (default 540): each step's time limit is cut to what is
#                 left, so the whole run ends inside a 10-minute command
#   KIT_STEPS     the steps to run, e.g. "system,devices,tests" (default: all, in the order below)
#   KIT_REPEATS   timed steps of each `bench step` (default 20; the peer times as many)
#
# Every step runs under `timeout` with its output in its own log; a failed step does not stop the
# next. RESULTS_DIR ends up with three files: summary.txt (step -> status table, test counts,
# the end of each failed step's log), all.log (every log, in order; both written as the run goes)
# and results.tar.gz (logs, JUnit XML reports, benchmark JSON, plots, the training run's files).
# Exit status: 0 when every step that ran passed, else 1.
set -uo pipefail

kit="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-${OUT:-$PWD/gpu-kit-results}}"
mkdir -p "$out" || exit 1
out="$(cd "$out" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gpu-kit-results.XXXXXX")"
densenet="$kit/densenet/bin/densenet"
java="$kit/densenet/runtime/bin/java"
budget="${KIT_BUDGET_S:-540}"
reserve=20 # seconds kept for packing the results
started=$SECONDS
summary="$out/summary.txt"
all="$out/all.log"
export DENSENET_TRACE=1 # stack traces with error lines: a GPU failure must be diagnosable from the logs
: >"$all"

names=() statuses=() seconds=() notes=()

wanted() { # devices-pip, the retry of devices, goes with it
  [ -z "${KIT_STEPS:-}" ] && return 0
  case ",${KIT_STEPS// /,}," in *",${1%-pip},"*) return 0 ;; *) return 1 ;; esac
}

write_summary() {
  {
    echo "GPU kit run, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $((SECONDS - started)) s so far of a $budget s budget"
    [ -f "$kit/KIT.txt" ] && sed 's/^/  /' "$kit/KIT.txt"
    echo
    printf '%-14s %-30s %6s  %s\n' step status seconds note
    local i
    for i in "${!names[@]}"; do
      printf '%-14s %-30s %6s  %.200s\n' "${names[$i]}" "${statuses[$i]}" "${seconds[$i]}" "${notes[$i]}"
    done
  } >"$summary"
}

# step NAME CAP_SECONDS STDOUT_FILE|- COMMAND...: runs COMMAND with at most CAP_SECONDS (less when
# the budget is nearly spent), stdout to STDOUT_FILE (or the log), stderr to $work/NAME.log.
step() {
  local name="$1" cap="$2" stdout="$3"
  shift 3
  wanted "$name" || return 0
  local log="$work/$name.log" left limit begin rc status note
  left=$((budget - reserve - (SECONDS - started)))
  if [ "$left" -lt 10 ]; then
    names+=("$name") statuses+=("not run (no time left)") seconds+=(0) notes+=("")
    write_summary
    return 0
  fi
  limit=$((cap < left ? cap : left))
  [ "$stdout" = - ] && stdout="$log"
  echo "$ $* (time limit ${limit}s)" >"$log"
  [ "$stdout" != "$log" ] && : >"$stdout"
  echo "[$(date -u +%H:%M:%S)] $name: running, at most ${limit}s" >&2
  begin=$SECONDS
  timeout -k 10 "$limit" "$@" >>"$stdout" 2>>"$log" </dev/null
  rc=$?
  case "$rc" in
    0) status=ok ;;
    124 | 137) status="timed out after ${limit}s" ;;
    *) status="failed (exit $rc)" ;;
  esac
  note=""
  if [ "$rc" -ne 0 ]; then
    note="$(grep -m1 -E '^(error|Exception|Caused by)|Error:|error:' "$log" || true)"
    [ -z "$note" ] && note="$(grep -v '^\s*$' "$log" | tail -n 1)"
  fi
  {
    echo "==================== $name: $status, $((SECONDS - begin)) s"
    cat "$log"
    [ "$stdout" != "$log" ] && { echo "---- stdout ($(basename "$stdout"))"; cat "$stdout"; }
    echo
  } >>"$all"
  names+=("$name") statuses+=("$status") seconds+=($((SECONDS - begin))) notes+=("$note")
  write_summary
  echo "[$(date -u +%H:%M:%S)] $name: $status" >&2
  return 0
}

# The last step's row, for the steps that add their own reading of the log.
set_last() { statuses[-1]="$1"; notes[-1]="$2"; write_summary; }
ran() { wanted "$1" && [ -f "$work/$1.log" ]; }

system_report() {
  echo "## uname"; uname -a
  echo "## nvidia-smi"; timeout 20 nvidia-smi || echo "nvidia-smi: exit $?"
  echo "## GPUs (name, driver, memory, max SM clock)"
  timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 || true
  echo "## Java runtime"; "$java" -version 2>&1
  echo "## python3 and PyTorch"; command -v python3 || echo "no python3 on PATH"
  timeout 45 python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version(), "gpu", torch.cuda.is_available() and torch.cuda.get_device_name(0))' 2>&1 || true
  echo "## CUDA libraries in the loader cache"; ldconfig -p 2>/dev/null | grep -E 'libcuda\.|libcudnn|libcublas|libnvrtc' || echo "(none)"
  echo "## CUDA libraries in python3's site-packages"
  python3 -c 'import site,glob,os; [print(f) for r in site.getsitepackages() for f in sorted(glob.glob(os.path.join(r,"nvidia","*","lib","lib*.so*")))]' 2>&1 || true
  echo "## nvcc"; nvcc --version 2>&1 | tail -n 2 || true
}

# Folders of pip's CUDA libraries next to python3, for DENSENET_CUDA_LIBS when discovery fails.
pip_cuda_libs() {
  timeout 30 python3 -c 'import site,glob,os; print(":".join(sorted({d for r in site.getsitepackages() for d in glob.glob(os.path.join(r,"nvidia","*","lib"))})))' 2>/dev/null
}

# junit_run REPORTS_DIR SELECTION...: JUnit's console launcher over the kit's test classes, run
# by $JUNIT_WRAPPER when set (compute-sanitizer and its options).
junit_run() {
  local reports="$1" tests="$kit/test" cp entry
  shift
  cp="$tests/engine:$tests/tests:$kit/densenet/lib/densenet.jar"
  for entry in "$tests"/lib/*.jar; do [ -f "$entry" ] && cp="$cp:$entry"; done
  # shellcheck disable=SC2086
  ${JUNIT_WRAPPER:-} "$java" -Xss4m --enable-native-access=ALL-UNNAMED -jar "$tests/junit-platform-console-standalone.jar" execute \
    --disable-banner --disable-ansi-colors --details=tree --details-theme=ascii --fail-if-no-tests \
    --class-path "$cp" "$@" --reports-dir "$reports"
}

junit_tests() {
  junit_run "$work/junit" --scan-classpath "$kit/test/engine" --scan-classpath "$kit/test/tests" --include-tag gpu
}

# The kernel parity tests under compute-sanitizer TOOL: memcheck (out-of-bounds and misaligned
# device accesses) or racecheck (shared-memory hazards): what the CPU emulation of the kernels
# cannot see. Exits 3 when compute-sanitizer is not installed.
sanitized_kernel_tests() {
  local tool="$1"
  command -v compute-sanitizer >/dev/null 2>&1 || { echo "no compute-sanitizer on PATH"; return 3; }
  JUNIT_WRAPPER="compute-sanitizer --tool $tool --target-processes all --error-exitcode 9" \
    junit_run "$work/junit-$tool" --select-class org.densenet.engine.cuda.kernels.KernelParityGpuTest
}
export -f system_report junit_run junit_tests sanitized_kernel_tests
export kit java work

# The console launcher's counts, e.g. "12 found, 12 successful, 0 failed, 0 aborted, 0 skipped".
junit_counts() {
  local log="$1" k n parts=()
  for k in found successful failed aborted skipped; do
    n="$(sed -n "s/^\[ *\([0-9]*\) tests $k *\]$/\1/p" "$log" | head -n 1)"
    parts+=("${n:-?} $k")
  done
  local IFS=,
  echo "${parts[*]}" | sed 's/,/, /g'
}

step system 90 - bash -c system_report
ran system && set_last "${statuses[-1]}" "$(sed -n '/^## GPUs/{n;p;q}' "$work/system.log")"

# `densenet devices` exits 0 and says "not usable: <why>" when no GPU can be used.
read_devices() {
  local log="$work/$1.log"
  if [ "${statuses[-1]}" = ok ] && grep -q 'not usable' "$log"; then
    set_last "no usable GPU" "${2:-}$(grep -m1 'not usable' "$log")"
  else
    set_last "${statuses[-1]}" "${2:-}$(grep -m1 '^cuda' "$log")"
  fi
}
step devices 60 - "$densenet" devices
ran devices && read_devices devices
# Where discovery misses pip's CUDA libraries (the driver being there), name their folders and ask again.
if ran devices && [ "${statuses[-1]}" != ok ] && [ -z "${DENSENET_CUDA_LIBS:-}" ] \
    && ! grep -q 'NVIDIA driver not found' "$work/devices.log"; then
  libs="$(pip_cuda_libs)"
  if [ -n "$libs" ]; then
    export DENSENET_CUDA_LIBS="$libs"
    step devices-pip 60 - "$densenet" devices
    ran devices-pip && read_devices devices-pip "DENSENET_CUDA_LIBS=$libs: "
    [ "${statuses[-1]}" = ok ] || unset DENSENET_CUDA_LIBS
  fi
fi

# NCCL: the line `devices` printed (the library found, its version, or why none) and the wheels pip
# knows, which decide whether two ranks may share this GPU (NCCL_MULTI_RANK_GPU_ENABLE needs 2.30).
nccl_report() {
  grep -h '^nccl:' "$work"/devices*.log | tail -n 1
  python3 -m pip show nvidia-nccl-cu13 nvidia-nccl-cu12 2>/dev/null | grep -E '^(Name|Version|Location):' || echo "pip: no nvidia-nccl wheel"
}
export -f nccl_report
step nccl 30 - bash -c nccl_report
ran nccl && set_last "${statuses[-1]}" "$(grep -m1 '^nccl:' "$work/nccl.log" | cut -c1-120)"

# Steps that need a GPU are reported as skipped, not failed, where `devices` found none usable.
gpu_usable=yes
for i in "${!names[@]}"; do
  case "${names[$i]}" in devices | devices-pip) [ "${statuses[$i]}" = ok ] && gpu_usable=yes || gpu_usable=no ;; esac
done

step tests 240 - bash -c junit_tests
if ran tests; then
  counts="$(junit_counts "$work/tests.log")"
  # a failed assumption (no usable GPU) is "aborted" on the JUnit platform, "skipped" in Surefire
  if [ "${statuses[-1]}" = ok ] && [[ "$counts" =~ ^([0-9]+)\ found,\ 0\ successful.*,\ ([0-9]+)\ aborted ]] \
      && [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] && [ "${BASH_REMATCH[1]}" -gt 0 ]; then
    set_last "skipped (assumptions)" "$counts; $(grep -m1 -o 'no usable GPU[^]]*' "$work/tests.log" | cut -c1-100)"
  else
    set_last "${statuses[-1]}" "$counts${notes[-1]:+; ${notes[-1]}}"
  fi
fi

# The kernels under compute-sanitizer right after their parity tests, before any benchmark: memory errors
# and shared-memory races are what the emulated device cannot show, and correctness comes before speed.
for tool in memcheck racecheck; do
  step "$tool" 90 - bash -c "sanitized_kernel_tests $tool"
  if ran "$tool" && grep -q 'no compute-sanitizer on PATH' "$work/$tool.log"; then
    set_last "skipped (no compute-sanitizer)" ""
  elif ran "$tool"; then
    set_last "${statuses[-1]}" "$(junit_counts "$work/$tool.log"); $(grep -m1 'ERROR SUMMARY' "$work/$tool.log" | cut -c1-120)"
  fi
done

# What cuDNN's legacy API does with the networks' convolutions in FP16 and BF16, NCHW and NHWC, packed
# and as channel slices, against FP32 (docs/CUDA.md, "Probing cuDNN for 16 bits"): the measurement the
# 16-bit layout is chosen by. The probe starts no new shape after 70 s.
probe_note() {
  python3 - "$1" <<'PY' 2>/dev/null || true
import json, sys
rows = json.load(open(sys.argv[1]))["tables"]["summary by variant"]
def one(r):
    g = r["geomean_speedup"]
    return f'{r["variant"]} {r["ran"]}/{r["probed"]}' + (f' x{g:.2f}' if g is not None else "")
print("forward (ran/probed, geomean x fp32): " + "; ".join(one(r) for r in rows if r["pass"] == "conv forward" and not r["variant"].startswith("fp32")))
PY
}
step probe-cudnn 100 "$work/probe-cudnn.txt" "$densenet" bench probe-cudnn --device cuda --budget-s 70 --save "$work/probe-cudnn.json"
if ran probe-cudnn; then
  if [ "${statuses[-1]}" = ok ]; then
    set_last ok "$(probe_note "$work/probe-cudnn.json")"
  elif [ "$gpu_usable" = no ]; then
    set_last "skipped (no usable GPU)" "${notes[-1]}"
  fi
fi

# One line from a `bench step --json` result: each training row's median and host time, ours and the peer's.
step_note() {
  python3 - "$1" <<'PY' 2>/dev/null || true
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["tables"]["steps"] if r["phase"] == "train step"]
def one(r):
    host = r.get("host_median_ms")
    return f'{r["framework"].split()[0]} {r["mode"]} {r["median_ms"]:.2f} ms' + (f' (host {host:.2f})' if host is not None else "")
print("train: " + "; ".join(one(r) for r in rows))
PY
}

step_args=(--peer python3 --peer-script "$kit/scripts/bench/pytorch_step.py" --repeats "${KIT_REPEATS:-20}")
for model in densenet-bc-100-12 densenet-40-12; do
  name=step-40 cap=120
  [ "$model" = densenet-bc-100-12 ] && name=step-bc100 cap=180
  step "$name" "$cap" "$work/bench-step-$model.json" \
    "$densenet" bench step --device cuda --model "$model" -b 64 --compare-memory "${step_args[@]}" --json
  if ran "$name" && [ "${statuses[-1]}" = ok ]; then set_last ok "$(step_note "$work/bench-step-$model.json")"; fi
done
# BF16 and FP16 with 16-bit activations (docs/PRECISION.md, "On a GPU"), right after the float32 steps:
# no GPU has run them yet, so their first run matters more than the benchmarks below. A short training
# run of each, then the bf16 step beside PyTorch's autocast bf16.
step train-bf16 60 - "$densenet" train --device cuda --precision bf16 --dataset synthetic --model densenet-bc-100-12 -b 64 --epochs 1 \
  --max-steps 20 --log-interval 5 --output "$work/train-bf16"
step train-fp16 60 - "$densenet" train --device cuda --precision fp16 --dataset synthetic --model densenet-bc-100-12 -b 64 --epochs 1 \
  --max-steps 20 --log-interval 5 --output "$work/train-fp16"
step step-bc100-bf16 120 "$work/bench-step-bc100-bf16.json" \
  "$densenet" bench step --device cuda --model densenet-bc-100-12 -b 64 --precision bf16 "${step_args[@]}" --json
if ran step-bc100-bf16 && [ "${statuses[-1]}" = ok ]; then set_last ok "$(step_note "$work/bench-step-bc100-bf16.json")"; fi
# The same step with CUDA graphs off (the steps above replay a captured step): what the graphs save,
# GPU and host time. The tests step above has checked captured against uncaptured steps (GpuCapturedStepTest).
step step-bc100-nographs 60 "$work/bench-step-bc100-nographs.json" \
  "$densenet" bench step --device cuda --model densenet-bc-100-12 -b 64 --cuda-graphs off --repeats "${KIT_REPEATS:-20}" --json
if ran step-bc100-nographs && [ "${statuses[-1]}" = ok ]; then set_last ok "$(step_note "$work/bench-step-bc100-nographs.json")"; fi
# PyTorch's own default lets cuDNN convolutions use TF32: the same comparison with TF32 on both sides.
step step-bc100-tf32 120 "$work/bench-step-bc100-tf32.json" \
  "$densenet" bench step --device cuda --model densenet-bc-100-12 -b 64 --tf32 "${step_args[@]}" --json
if ran step-bc100-tf32 && [ "${statuses[-1]}" = ok ]; then set_last ok "$(step_note "$work/bench-step-bc100-tf32.json")"; fi
# The ImageNet-sized network: densenet121 at 224 pixels, ours in every memory mode beside PyTorch's two.
step step-121 150 "$work/bench-step-densenet121.json" \
  "$densenet" bench step --device cuda --model densenet121 -b 64 --compare-memory "${step_args[@]}" --json
if ran step-121 && [ "${statuses[-1]}" = ok ]; then set_last ok "$(step_note "$work/bench-step-densenet121.json")"; fi
step ops-bc100 120 - "$densenet" bench ops --device cuda --model densenet-bc-100-12 -b 64
step ops-121 120 - "$densenet" bench ops --device cuda --model densenet121 -b 64
step memory 150 - "$densenet" bench memory --device cuda -b 64 --depths 40,100,160 --plot "$work/bench-memory.png"
step train 120 - "$densenet" train --device cuda --dataset synthetic --model densenet-bc-100-12 -b 64 --epochs 2 \
  --log-interval 5 --output "$work/train-synthetic"
# Data parallel with one rank through the real NCCL: its binding, ncclCommInitRank on a device, the
# broadcast of rank 0's weights and the bucketed all-reduce of every step (docs/DISTRIBUTED.md), with
# CUDA graphs on, so the all-reduces are captured with the step. Where that fails, the same run with
# --cuda-graphs off tells a captured-NCCL problem from an NCCL one (exit 3: only the captured run failed).
train_nccl1() {
  local rc
  "$densenet" train --gpus 1 --dataset synthetic --model densenet-bc-100-12 -b 64 --epochs 1 --max-steps 10 \
    --log-interval 5 --nccl-timeout 30 --output "$work/train-nccl1" && return 0
  rc=$?
  echo "with CUDA graphs: exit $rc; again with --cuda-graphs off:"
  "$densenet" train --gpus 1 --dataset synthetic --model densenet-bc-100-12 -b 64 --epochs 1 --max-steps 10 \
    --log-interval 5 --nccl-timeout 30 --cuda-graphs off --output "$work/train-nccl1-nographs" || return $?
  return 3
}
export -f train_nccl1
export densenet
step train-nccl1 75 - bash -c train_nccl1
if ran train-nccl1 && [ "${statuses[-1]}" = "failed (exit 3)" ]; then
  set_last "failed with CUDA graphs" "the captured all-reduces failed; with --cuda-graphs off the run passed (train-nccl1.log)"
fi
# Two ranks on the one GPU, which NCCL 2.30 and later allow with NCCL_MULTI_RANK_GPU_ENABLE=1: the overlapped
# all-reduce through a real NCCL, with each step's all-reduce time and the part of it hidden behind backward.
two_ranks_one_gpu() {
  local v
  v="$(grep -m1 -o 'NCCL [0-9]*\.[0-9]*' "$work/nccl.log" 2>/dev/null | cut -d' ' -f2)"
  if [ -z "$v" ] || [ "${v%%.*}" -lt 2 ] || { [ "${v%%.*}" -eq 2 ] && [ "${v#*.}" -lt 30 ]; }; then
    echo "skipped: two ranks on one GPU need NCCL 2.30 or later, found ${v:-none}"
    return 0
  fi
  NCCL_MULTI_RANK_GPU_ENABLE=1 "$densenet" bench step --gpus 0,0 --model densenet-bc-100-12 -b 64 --repeats "${KIT_REPEATS:-20}" \
    --nccl-timeout 30 --json >"$work/bench-step-nccl2.json"
}
export -f two_ranks_one_gpu
step step-nccl2 60 - bash -c two_ranks_one_gpu
if ran step-nccl2 && [ "${statuses[-1]}" = ok ]; then
  if grep -q '^skipped:' "$work/step-nccl2.log"; then
    set_last "skipped (NCCL < 2.30)" ""
  else
    set_last ok "$(python3 - "$work/bench-step-nccl2.json" <<'PY' 2>/dev/null || true
import json, sys
r = json.load(open(sys.argv[1]))["tables"]["steps"][0]
print(f'2 ranks: step {r["median_ms"]:.2f} ms, all-reduce {r["allreduce_median_ms"]:.2f} ms in {r["buckets"]} buckets,'
      f' {r["allreduce_overlapped_percent"]:.0f}% overlapped with backward')
PY
)"
  fi
fi
# What the input pipeline feeds on this machine's cores, beside the densenet121 step above: generated
# ImageNet-like JPEGs (288), the training transform, libjpeg-turbo and javax.imageio in turns.
step data 150 - bash -c '"$1" -cp "$2" MakeImageFolder "$3" 64 8 4 >/dev/null && "$4" bench data --dataset imagenet --data "$3" -b 64 \
  --batches 8 -j 1,4,8,16 --decoder turbo,imageio' _ "$java" "$kit/scripts/bench" "$work/jpegs" "$densenet"
if ran data && [ "${statuses[-1]}" = ok ]; then
  set_last ok "$(grep -m1 'fastest:' "$work/data.log" | sed 's/^ *//'); $(grep -m1 'turbo / imageio' "$work/data.log" | sed 's/^ *//')"
fi
rm -rf "$work/jpegs"
# densenet121 at 224 pixels in bf16 beside PyTorch's autocast bf16 (eager, channels_last and compiled where
# the peer can): the mixed-precision target network, last because it is the longest.
step step-121-bf16 150 "$work/bench-step-densenet121-bf16.json" \
  "$densenet" bench step --device cuda --model densenet121 -b 64 --precision bf16 "${step_args[@]}" --json
if ran step-121-bf16 && [ "${statuses[-1]}" = ok ]; then set_last ok "$(step_note "$work/bench-step-densenet121-bf16.json")"; fi

# Checkpoints are large and say nothing the logs do not; list them instead.
find "$work" -name '*.safetensors' -printf '%p %s bytes\n' >"$work/checkpoints.txt" 2>/dev/null
tar -C "$work" --exclude='*.safetensors' -czf "$out/results.tar.gz" . || echo "cannot write $out/results.tar.gz" >&2

# The table goes last, so that the end of the output shows it whatever came before.
failed=0
{
  for i in "${!names[@]}"; do
    log="$work/${names[$i]}.log"
    case "${statuses[$i]}" in ok | skipped*) continue ;; esac
    failed=1
    [ -f "$log" ] || continue
    echo "---- ${names[$i]} (${statuses[$i]}), end of its log without stack frames"
    [ "${names[$i]}" = tests ] && grep -F '[X]' "$log" | head -n 40 | cut -c1-300
    grep -v -E '^\s+(at |\.\.\. [0-9]+ more)' "$log" | tail -n 15 | cut -c1-300
  done
  echo
  write_summary
  cat "$summary"
  echo "results: $out (summary.txt, all.log, results.tar.gz)"
} >"$work/final.txt"
cp "$work/final.txt" "$summary"
cat "$summary"
rm -rf "$work"
exit "$failed"
