"""PyTorch peer benchmark: time of one DenseNet training step, and its peak memory.

One step is: zero_grad, forward, mean cross-entropy, backward, SGD (lr 0.1, momentum 0.9, Nesterov,
weight decay 1e-4), on one fixed synthetic batch already on the device (no data loading).
Each (model, mode) runs in a fresh Python process so that its memory peak is its own.

Modes: `naive` is torchvision's default dense layer (concatenation and BN output kept for backward);
`efficient` is torchvision's memory_efficient=True (torch.utils.checkpoint recomputes the
concatenation and BN-ReLU of each layer in backward; Pleiss et al., arXiv 1707.06990);
`channels_last` is `naive` with the model and batch in torch.channels_last (NHWC) memory format,
the layout oneDNN (CPU) and cuDNN's tensor-core kernels are fastest in; `compiled` is `naive` through
torch.compile (default options, at least 3 untimed steps to compile), where this PyTorch has it and
it compiles on this machine: when it does not, the mode is reported as skipped with the reason, and
the other modes still run.

Precision: `--precision fp32` (default), `tf32` (as `--tf32 on`), `bf16` or `fp16`: the forward and
the loss under torch.autocast with that dtype, as a PyTorch AMP user writes it; fp16 adds
torch.amp.GradScaler (torch.cuda.amp.GradScaler in older PyTorch) with its defaults around backward
and the optimizer step. Where this PyTorch's autocast does not compute in the dtype on the device
(autocast on the CPU supports bf16; float16 only in newer PyTorch), or GradScaler cannot run there,
every mode is reported as skipped with the reason rather than timed in float32.

Threads: `--threads N` sets torch.set_num_threads(N); `densenet bench step --peer` passes its own CPU
backend's thread count, so both sides compute with the same number of cores.

Timing: `--warmup` steps are run and discarded, then `--steps` steps are timed one by one; the report
gives the median and the spread (min, 10th/90th percentile, max) in milliseconds. On CPU a step is timed
with time.perf_counter; on CUDA with a pair of CUDA events around each step (cudnn.benchmark on, so
the warm-up also picks the convolution algorithms). `host_median_ms` is the host's time to issue a
step: time.perf_counter around the step, which reads nothing back and so never waits for the GPU
(on CPU it is the step time itself).

TF32: off unless `--tf32 on` or `--precision tf32` (cudnn.allow_tf32 and cuda.matmul.allow_tf32 both set), as the engine's
CUDA backend defaults to float32 math. PyTorch's own default allows TF32 in cuDNN convolutions, which
would time TF32 tensor-core convolutions against float32 ones; `densenet bench step` passes the
engine's setting on.

Peak memory: on CUDA, torch.cuda.max_memory_allocated() over the timed steps (reset after the
warm-up; weights, gradients, momentum and activations, not the caching allocator's reserve). On CPU,
tracemalloc cannot see torch's allocations, so the number is the growth of the process's peak
resident set (resource.getrusage(RUSAGE_SELF).ru_maxrss, KiB on Linux) from just before the model is
built to after the last step: it counts the model, optimizer state, the batch, activations and what
the allocator keeps, and it is an upper bound on what a step needs at once.

Examples:
  /usr/bin/python3 scripts/bench/pytorch_step.py --steps 2 --warmup 1
  /usr/bin/python3 scripts/bench/pytorch_step.py --model densenet-bc-100-12,densenet-40-12 --device cuda --json out.json
  /usr/bin/python3 scripts/bench/pytorch_step.py --model densenet121 --image-size 224 --classes 1000 --device cuda
"""
import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "fixtures"))

MODES = ("naive", "efficient", "channels_last", "compiled")
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
COMPILED_WARMUP = 3


def parse_args(argv):
    from densenet_ref import IMAGENET_PRESETS, PRESETS, check_name

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__,
                                allow_abbrev=False)
    p.add_argument("--model", default="densenet-bc-100-12",
                   help=f"comma-separated list of: {', '.join([*PRESETS, *IMAGENET_PRESETS])}, or any densenet-L-k / "
                        "densenet-bc-L-k CIFAR network (default densenet-bc-100-12)")
    p.add_argument("--mode", default="naive,efficient,channels_last", help="comma-separated list of: " + ", ".join(MODES))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda when available)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--tf32", choices=("on", "off"), default="off",
                   help="TF32 tensor-core math in cuDNN convolutions and matrix products on CUDA (default off)")
    p.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="fp32 (default), tf32 (as --tf32 on), bf16 or fp16 (torch.autocast; fp16 with GradScaler)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON ('-': to stdout, the table then goes to stderr)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    for m in args.model.split(","):
        try:
            check_name(m)
        except SystemExit as e:
            p.error(str(e))
    for m in args.mode.split(","):
        if m not in MODES:
            p.error(f"unknown mode {m!r}; choose from {', '.join(MODES)}")
    if args.batch < 1 or args.steps < 1 or args.warmup < 0:
        p.error("--batch and --steps must be >= 1, --warmup >= 0")
    return args


class Skipped(Exception):
    """A mode this PyTorch cannot run as asked on this machine; the reason goes into the report."""


def mixed_precision(torch, device, precision):
    """The autocast context and GradScaler (or None) of `precision`; raises Skipped where autocast or
    GradScaler would quietly fall back to float32 (PyTorch only warns when it disables them)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    if dtype is None:
        return contextlib.nullcontext, None
    version = torch.__version__

    def autocast():
        return torch.autocast(device_type=device.type, dtype=dtype)

    import warnings
    refused = f"autocast on {device.type} does not compute in {precision} in PyTorch {version}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = torch.ones(2, 2, device=device)
        try:
            with autocast():
                got = torch.mm(a, a).dtype
        except RuntimeError as e:  # PyTorch 1.13 refuses float16 on the CPU outright
            raise Skipped(f"{refused} ({str(e).strip()})") from e
    if got != dtype:
        raise Skipped(f"{refused} (it gave {got})")
    if precision != "fp16":
        return autocast, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            scaler = torch.amp.GradScaler(device.type)
        except (AttributeError, TypeError, RuntimeError):
            scaler = torch.cuda.amp.GradScaler() if device.type == "cuda" else None
    if scaler is None or not scaler.is_enabled():
        raise Skipped(f"GradScaler does not run on {device.type} in PyTorch {version}")
    return autocast, scaler


def worker(args, model_name, mode):
    """Runs in its own process; returns one result dict."""
    import torch

    try:
        return timed_worker(torch, args, model_name, mode)
    except Skipped as e:
        return {"framework": f"pytorch {torch.__version__}", "model": model_name, "mode": mode, "precision": args.precision,
                "device": args.device, "skipped": str(e)}


def timed_worker(torch, args, model_name, mode):
    import torch.nn.functional as F
    from densenet_ref import any_preset, parameter_count

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    tf32 = args.tf32 == "on" or args.precision == "tf32"
    if cuda:
        torch.backends.cudnn.benchmark = True
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.cuda.set_device(device)
    autocast, scaler = mixed_precision(torch, device, args.precision)
    if mode == "compiled" and not hasattr(torch, "compile"):
        raise Skipped(f"torch.compile does not exist in PyTorch {torch.__version__}")
    torch.manual_seed(0)
    rss_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    model = any_preset(model_name, args.classes, memory_efficient=(mode == "efficient")).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4, nesterov=True)
    x = torch.randn(args.batch, 3, args.image_size, args.image_size, device=device)
    if mode == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, args.classes, (args.batch,), device=device)
    forward = torch.compile(model) if mode == "compiled" else model

    def step():
        opt.zero_grad(set_to_none=True)
        with autocast():
            loss = F.cross_entropy(forward(x), y)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        return loss

    # torch.compile compiles on the first call: where it cannot (no compiler, an unsupported
    # platform), the mode is skipped with the error's last line rather than failing the run. It may
    # compile again on the next calls (measured: the second and third steps of PyTorch 2.13 on the
    # CPU were still several times slower), so it gets at least COMPILED_WARMUP untimed steps.
    for i in range(max(args.warmup, COMPILED_WARMUP if mode == "compiled" else 0)):
        if mode == "compiled" and i == 0:
            try:
                step()
            except Exception as e:  # noqa: BLE001 - any compile failure means the mode cannot run here
                lines = [l for l in str(e).strip().splitlines() if l.strip()]
                raise Skipped(f"torch.compile failed: {type(e).__name__}: {lines[-1] if lines else ''}") from e
        else:
            step()
    times_ms = []
    host_ms = []
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        for _ in range(args.steps):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            t0 = time.perf_counter()
            step()  # nothing in it waits for the GPU: the loss is not read back
            host_ms.append((time.perf_counter() - t0) * 1e3)
            end.record()
            end.synchronize()
            times_ms.append(start.elapsed_time(end))
        peak_bytes = torch.cuda.max_memory_allocated()
        peak_method = "torch.cuda.max_memory_allocated over the timed steps"
        device_name = torch.cuda.get_device_name(device)
    else:
        for _ in range(args.steps):
            t0 = time.perf_counter()
            step()
            times_ms.append((time.perf_counter() - t0) * 1e3)
        host_ms = times_ms
        rss_after_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak_bytes = (rss_after_kib - rss_before_kib) * 1024
        peak_method = "growth of peak RSS (ru_maxrss) from before model creation to after the last step"
        device_name = platform.processor() or platform.machine()

    times_sorted = sorted(times_ms)
    median = statistics.median(times_ms)
    return {
        "framework": f"pytorch {torch.__version__}",
        "model": model_name,
        "mode": mode,
        "device": str(device),
        "precision": args.precision,
        "tf32": cuda and tf32,
        "device_name": device_name,
        "threads": torch.get_num_threads(),
        "batch": args.batch,
        "image_size": args.image_size,
        "parameters": parameter_count(model),
        "warmup_steps": args.warmup,
        "steps": args.steps,
        "median_ms": median,
        "min_ms": times_sorted[0],
        "p10_ms": _percentile(times_sorted, 0.10),
        "p90_ms": _percentile(times_sorted, 0.90),
        "max_ms": times_sorted[-1],
        "host_median_ms": statistics.median(host_ms),
        "images_per_s": args.batch / (median / 1e3),
        "peak_memory_bytes": peak_bytes,
        "peak_memory_method": peak_method,
        "step_ms": times_ms,
    }


def _percentile(sorted_values, q):
    """Linear interpolation between closest ranks."""
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def resolve_device(spec):
    import torch

    if spec == "auto":
        if torch.cuda.is_available():
            return "cuda"
        print("device auto: no usable CUDA device in this PyTorch, running on cpu", file=sys.stderr)
        return "cpu"
    if spec.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {spec}: this PyTorch ({torch.__version__}) sees no CUDA device")
    return spec


def main(argv):
    args = parse_args(argv)
    if args.worker:
        model_name, mode = args.worker.split(":")
        print(json.dumps(worker(args, model_name, mode)))
        return
    args.device = resolve_device(args.device)
    results = []
    # with --json -, stdout carries only the JSON document
    human = sys.stderr if args.json == "-" else sys.stdout
    for model_name in args.model.split(","):
        for mode in args.mode.split(","):
            cmd = [sys.executable, os.path.abspath(__file__), *_forwarded(argv), "--device", args.device,
                   "--worker", f"{model_name}:{mode}"]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"{model_name} {mode}: worker failed with exit code {proc.returncode}")
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            if "skipped" in r:
                print(f"{r['model']:<20} {r['mode']:<9} {r['device']:<6} {args.precision}: skipped: {r['skipped']}", file=human, flush=True)
                continue
            print(f"{r['model']:<20} {r['mode']:<9} {r['device']:<6} batch {r['batch']:<4} params {r['parameters']:>10,}  "
                  f"median {r['median_ms']:9.2f} ms  (min {r['min_ms']:.2f}, p10 {r['p10_ms']:.2f}, "
                  f"p90 {r['p90_ms']:.2f}, max {r['max_ms']:.2f}; {r['steps']} steps)  "
                  f"{r['images_per_s']:8.1f} img/s  peak {r['peak_memory_bytes'] / 2**20:8.1f} MiB", file=human, flush=True)
    if args.json:
        text = json.dumps({"results": results}, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w") as f:
                f.write(text + "\n")


def _forwarded(argv):
    """The user's options minus --device/--json, which the parent resolves and keeps."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--device", "--json", "--model", "--mode"):
            skip = True
            continue
        if a.split("=")[0] in ("--device", "--json", "--model", "--mode"):
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    main(sys.argv[1:])
