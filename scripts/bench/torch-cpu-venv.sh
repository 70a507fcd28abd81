#!/usr/bin/env bash
# Makes a Python virtual environment with a current CPU PyTorch for the CPU peer of `densenet bench
# step --peer`, from wheels in local folders (no network): ./scripts/bench/torch-cpu-venv.sh DIR [WHEEL_DIR...]
# Then: densenet bench step --device cpu --peer DIR/bin/python ...
#
# The wheel folders default to /opt/wheels, /opt/pypi/files and /opt/pypi-more/files. The peer needs
# torch, numpy and torchvision's pure-Python densenet module (which imports Pillow). Where the only
# torchvision wheel at hand is a CUDA build (its C extension needs libtorch_cuda.so, which a CPU torch lacks, so `import
# torchvision` fails while registering its C operators), the venv gets a sitecustomize.py that
# registers torchvision as a bare package: its submodules (torchvision.models.densenet) import
# without running torchvision/__init__.py. Nothing the peer uses needs the C extension.
set -euo pipefail
dir=${1:?usage: $0 DIR [WHEEL_DIR...]}
shift
folders=("$@")
[ ${#folders[@]} -gt 0 ] || folders=(/opt/wheels /opt/pypi/files /opt/pypi-more/files)
links=()
for f in "${folders[@]}"; do [ -d "$f" ] && links+=(--find-links "$f"); done
torch_wheel=$(ls "${folders[@]}" 2>/dev/null | grep -E '^torch-[0-9.]+\+cpu-.*\.whl$' | sort -V | tail -n 1 || true)
[ -n "$torch_wheel" ] || { echo "no CPU torch wheel (torch-X+cpu-*.whl) in ${folders[*]}" >&2; exit 1; }
torch_version=${torch_wheel#torch-}
torch_version=${torch_version%%-*}
python3 -m venv "$dir"
"$dir/bin/pip" install -q --no-index "${links[@]}" "torch==$torch_version" numpy pillow
# torchvision 0.X pairs with torch 2.(X-15); take the matching one without its dependencies (it would replace torch)
minor=$(echo "$torch_version" | cut -d. -f2)
"$dir/bin/pip" install -q --no-index --no-deps "${links[@]}" "torchvision==0.$((minor + 15)).*"
if ! "$dir/bin/python" -c "import torchvision" 2>/dev/null; then
  site=$("$dir/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
  cat > "$site/sitecustomize.py" <<'PY'
# torchvision here is a CUDA build whose C extension cannot load with a CPU torch; the DenseNet peer
# needs only its pure-Python models, so torchvision becomes a bare package (its __init__ is skipped).
import importlib.util
import sys
import types

_spec = importlib.util.find_spec("torchvision")
if _spec is not None and "torchvision" not in sys.modules:
    _pkg = types.ModuleType("torchvision")
    _pkg.__path__ = list(_spec.submodule_search_locations)
    sys.modules["torchvision"] = _pkg
PY
fi
"$dir/bin/python" -c "import torch; from torchvision.models.densenet import DenseNet; print('peer python ready: torch', torch.__version__)"
