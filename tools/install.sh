#!/usr/bin/env bash
# Set up (or check) the whole selective_mae stack in a virtual environment.
#
#   bash tools/install.sh            # idempotent; a second run takes seconds
#   bash tools/install.sh --mmcv-wheel-only
#       only build (or find) the mmcv wheel for this environment in the
#       cache, print its path and stop; with FORCE_CUDA=1 and
#       TORCH_CUDA_ARCH_LIST this is the wheel to copy to a GPU machine that
#       has no compiler (docs/install.md)
#
# Steps: venv -> torch/torchvision (pinned, from requirements/torch.txt) ->
# mmcv 2.0.1 with its ops (compiled from the source archive with the two
# fixes in docs/install.md, or a cached wheel) -> mmengine, mmpretrain, mmdet,
# mmrotate, mmsegmentation (pinned) -> this plugin, editable.
#
# Environment variables:
#   VENV                 the virtual environment (default: <repo>/.venv)
#   PYTHON               the interpreter that creates it (default: python3)
#   SELECTIVE_MAE_CACHE  where built mmcv wheels are kept, outside the repo
#                        (default: ${XDG_CACHE_HOME:-~/.cache}/selective_mae)
#   MAX_JOBS             compile jobs for mmcv (default: number of cores)
#   FORCE_CUDA=1         build mmcv's CUDA ops even if no GPU is visible
#                        (they are built anyway when torch sees a GPU)
set -euo pipefail

WHEEL_ONLY=0
for arg in "$@"; do
  case $arg in
    --mmcv-wheel-only) WHEEL_ONLY=1 ;;
    *) printf 'install.sh: unknown argument %s\n' "$arg" >&2; exit 2 ;;
  esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Every path is made absolute here, once, against the caller's directory:
# the build below runs after a `cd`, where a relative path would point
# elsewhere.
abspath() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s/%s' "$PWD" "$1" ;; esac; }
VENV=$(abspath "${VENV:-$REPO/.venv}")
PYTHON=${PYTHON:-python3}
CACHE=$(abspath "${SELECTIVE_MAE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/selective_mae}")
MAX_JOBS=${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)}
MMCV_VERSION=2.0.1
STAMP="$VENV/.selective_mae_install"
T0=$(date +%s)

say() { printf '[install %4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
die() { printf '\ninstall.sh: ERROR: %s\n' "$*" >&2; exit 1; }

free_gb() {  # free space in GiB on the file system holding $1 (or a parent)
  local d=$1
  while [ ! -e "$d" ]; do d=$(dirname "$d"); done
  df -Pk "$d" | awk 'NR==2 {printf "%d", $4 / 1048576}'
}

need_space() {  # need_space DIR GIB WHAT
  local have
  have=$(free_gb "$1")
  [ "$have" -ge "$2" ] || die "$3 needs about $2 GiB free under $1, only \
$have GiB are. Free some space or point VENV / SELECTIVE_MAE_CACHE elsewhere."
}

pip_q() {  # pip, without the local-index notices; returns pip's status
  "$VENV/bin/python" -I -m pip --disable-pip-version-check "$@" 2>&1 \
    | { grep -v -e 'is ignored: it is neither a file nor a directory' \
                -e '^Looking in ' || true; }
  return "${PIPESTATUS[0]}"
}

restore_setuptools() {
  say "    restoring setuptools"
  pip_q install -q -c "$REPO/requirements/constraints.txt" setuptools \
    || echo "install.sh: warning: could not restore setuptools" >&2
}

# The stamp records what was installed; when it matches, nothing is redone.
install_hash() {
  cat "$REPO"/requirements/*.txt "$REPO/setup.py" "$REPO/tools/install.sh" \
    "$REPO/Makefile" \
    | sha256sum | cut -c1-16
}

# ---------------------------------------------------------------- 1. venv
command -v "$PYTHON" >/dev/null || die "'$PYTHON' not found: install Python \
3.9-3.12 (with its venv module) or set PYTHON=/path/to/python3."
if [ ! -x "$VENV/bin/python" ]; then
  need_space "$VENV" 8 "a new environment with torch (about 5.5 GB)"
  say "1/6 creating virtual environment $VENV"
  "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv' failed: install the \
venv module (Debian/Ubuntu: apt-get install python3-venv)."
else
  say "1/6 reusing virtual environment $VENV"
fi
PY="$VENV/bin/python"

if [ "$WHEEL_ONLY" = 0 ] && [ -f "$STAMP" ] &&
   [ "$(cat "$STAMP")" = "$(install_hash)" ] &&
   "$PY" -I - <<'EOF' 2>/dev/null
import importlib.metadata as md
import mmcv.ops  # noqa: F401  (fails if the compiled ops do not load)
import selective_mae  # noqa: F401
assert md.version('mmcv') == '2.0.1'
EOF
then
  say "everything is installed and up to date (stamp $STAMP)"
  exit 0
fi

# ---------------------------------------------------------------- 2. torch
# Installed alone and pinned; every later pip call is constrained to these
# versions, so pip can never swap torch for another build.
TORCH_PINS="$REPO/requirements/torch.txt"
if "$PY" -I - "$TORCH_PINS" <<'EOF' 2>/dev/null
import importlib.metadata as md, sys
pins = dict(l.split('==') for l in open(sys.argv[1])
            if '==' in l and not l.startswith('#'))
assert all(md.version(k) == v.strip() for k, v in pins.items())
EOF
then
  say "2/6 torch and torchvision already at the pinned versions"
else
  need_space "$VENV" 7 "torch (about 5.5 GB)"
  say "2/6 installing $(grep -v '^#' "$TORCH_PINS" | xargs) (several GB)"
  pip_q install -q -r "$TORCH_PINS" \
    || die "installing torch failed (see above)"
fi
read -r PYV TORCHV DEVICE <<<"$("$PY" -I - <<'EOF'
import os, sys, torch
cuda = torch.version.cuda and (torch.cuda.is_available()
                               or os.environ.get('FORCE_CUDA') == '1')
print(f'cp{sys.version_info[0]}{sys.version_info[1]}',
      torch.__version__.split('+')[0],
      'cu' + torch.version.cuda.replace('.', '') if cuda else 'cpu')
EOF
)"

# ---------------------------------------------------------------- 3. mmcv
# A built _ext only loads with the exact torch it was compiled against, so
# cached wheels are keyed on Python, torch and CUDA-or-CPU.
KEY="$PYV-torch$TORCHV-$DEVICE"
WHEEL_DIR="$CACHE/wheels/$KEY"
mmcv_ok() {
  "$PY" -I -c "import importlib.metadata as md, mmcv.ops; \
assert md.version('mmcv') == '$MMCV_VERSION'" 2>/dev/null
}

build_mmcv() {
  command -v c++ >/dev/null || command -v g++ >/dev/null || die "no C++ \
compiler found; mmcv's ops must be compiled (Debian/Ubuntu: apt-get install \
g++)."
  local inc
  inc=$("$PY" -I -c "import sysconfig; print(sysconfig.get_paths()['include'])")
  [ -f "$inc/Python.h" ] || die "Python headers missing ($inc/Python.h); \
mmcv's ops must be compiled (Debian/Ubuntu: apt-get install python3-dev)."
  need_space "$CACHE" 3 "compiling mmcv"

  local src="$CACHE/src"
  mkdir -p "$src" "$WHEEL_DIR"
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  # mmcv's setup.py imports pkg_resources, which current setuptools lacks:
  # build with the old setuptools of requirements/build.txt, then restore.
  trap 'restore_setuptools; rm -rf "$work"' EXIT
  say "    build tools (pip then reports that torch wants setuptools>=77: \
expected; it is restored after the build)"
  pip_q install -q -r "$REPO/requirements/build.txt" \
    || die "installing the build requirements failed (see above)"
  if [ ! -f "$src/mmcv-$MMCV_VERSION.tar.gz" ]; then
    say "3/6 downloading the mmcv $MMCV_VERSION source archive"
    pip_q download -q --no-deps --no-binary :all: --no-build-isolation \
      -d "$src" "mmcv==$MMCV_VERSION" \
      || die "downloading the mmcv source archive failed (see above)"
  fi
  tar -xzf "$src/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
  local dir="$work/mmcv-$MMCV_VERSION"
  # torch >= 2.10 headers need C++20; mmcv 2.0.1 asks for C++14.
  sed -i 's/-std=c++14/-std=c++20/g; s#/std:c++14#/std:c++20#g' \
    "$dir/setup.py"
  grep -q -- '-std=c++20' "$dir/setup.py" \
    || die "could not patch $dir/setup.py for C++20"

  # CUDA ops: torch's CUDA headers include cusparse.h, cusolver*.h and the
  # like, which a minimal CUDA toolkit (nvcc and the runtime only) lacks;
  # torch's own nvidia-* wheels ship them (nvidia/cu<major>/include), so
  # they go on the compilers' include path.
  if [ "${DEVICE#cu}" != "$DEVICE" ]; then
    local nvinc
    nvinc=$("$PY" -I - <<'EOF' 2>/dev/null || true
import glob, os.path as osp
import torch
root = osp.dirname(osp.dirname(torch.__file__))
for inc in sorted(glob.glob(osp.join(root, 'nvidia', 'cu*', 'include'))):
    if osp.isfile(osp.join(inc, 'cusparse.h')):
        print(inc)
        break
EOF
)
    if [ -n "$nvinc" ]; then
      export CPATH="$nvinc${CPATH:+:$CPATH}"
      say "    CUDA library headers from torch's nvidia wheels: $nvinc"
    fi
  fi
  local log="$CACHE/mmcv-build-$KEY.log"
  say "3/6 compiling mmcv $MMCV_VERSION ops for $KEY with $MAX_JOBS jobs \
(about 20 min on 2 cores on the CPU; longer with CUDA). Log: $log"
  (cd "$dir" && MMCV_WITH_OPS=1 MAX_JOBS=$MAX_JOBS \
    "$PY" -m pip wheel -v --no-deps --no-build-isolation \
      --disable-pip-version-check -w "$work/dist" . >"$log" 2>&1) &
  # Progress: object files written so far against the C++ sources of the
  # ops (ninja's own [n/N] lines reach the log only at the end).
  local pid=$! total last=-1 now
  total=$(find "$dir/mmcv/ops/csrc/pytorch" -name '*.cpp' \
    -not -path '*/mps/*' -not -path '*/npu/*' -not -path '*/mlu/*' | wc -l)
  while kill -0 "$pid" 2>/dev/null; do
    sleep 30
    # (before setup.py makes build/, find fails: with pipefail and set -e
    # that failure would end the script, and its EXIT trap would delete the
    # build under the running compiler; seen on a loaded machine)
    now=$(find "$dir/build" -name '*.o' 2>/dev/null | wc -l || true)
    if [ "$now" != "$last" ]; then
      say "    compiled $now of about $total sources"
      last=$now
    fi
  done
  wait "$pid" || die "compiling mmcv failed; the last lines of $log:
$(tail -n 25 "$log")"
  local whl
  whl=$(ls "$work"/dist/mmcv-*.whl 2>/dev/null | head -n 1 || true)
  [ -n "$whl" ] || die "the mmcv build made no wheel; see $log"
  # Move in place atomically so a killed build never leaves half a wheel.
  cp "$whl" "$WHEEL_DIR/.$(basename "$whl").part"
  mv "$WHEEL_DIR/.$(basename "$whl").part" "$WHEEL_DIR/$(basename "$whl")"
  say "    cached $WHEEL_DIR/$(basename "$whl")"
  restore_setuptools
  rm -rf "$work"
  trap - EXIT
}

if [ "$WHEEL_ONLY" = 1 ]; then
  if ! ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    build_mmcv
  fi
  say "mmcv wheel for $KEY: $(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl \
    | head -n 1)"
  exit 0
fi
if mmcv_ok; then
  say "3/6 mmcv $MMCV_VERSION with ops already installed"
else
  if ! ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl >/dev/null 2>&1; then
    build_mmcv
  else
    say "3/6 using the cached mmcv wheel in $WHEEL_DIR"
  fi
  pip_q install -q --no-deps --force-reinstall \
    "$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)" \
    || die "installing the mmcv wheel failed (see above)"
fi

# ---------------------------------------------------------------- 4. stack
say "4/6 installing the pinned OpenMMLab stack and test tools"
pip_q install -q -c "$REPO/requirements/constraints.txt" \
  -r "$REPO/requirements/runtime.txt" -r "$REPO/requirements/downstream.txt" \
  -r "$REPO/requirements/tests.txt" \
  || die "installing the OpenMMLab packages failed (see above)"

# ---------------------------------------------------------------- 5. plugin
say "5/6 installing selective_mae (editable)"
# PEP 660 (setuptools' editable wheel), not the `setup.py develop` that pip
# is retiring; the source checkout stays the package.
pip_q install -q --no-deps --no-build-isolation --use-pep517 -e "$REPO" \
  || die "installing the plugin failed (see above)"

# ---------------------------------------------------------------- 6. check
say "6/6 checking the installation"
"$PY" -I - <<'EOF' || die "the installed stack does not import (see above)"
import importlib.metadata as md
import torch
from mmcv.ops import RoIAlignRotated, box_iou_rotated, nms_rotated
import mmdet, mmengine, mmpretrain, mmrotate, mmseg  # noqa: F401
import selective_mae
boxes = torch.tensor([[10., 10., 8., 4., 0.3], [10., 11., 8., 4., 0.3]])
keep = nms_rotated(boxes, torch.tensor([0.9, 0.8]), 0.5)[1]
assert keep.tolist() == [0], keep
versions = ', '.join(f'{p} {md.version(p)}' for p in (
    'torch', 'mmcv', 'mmengine', 'mmpretrain', 'mmdet', 'mmrotate',
    'mmsegmentation'))
print(f'    {versions}; selective_mae {selective_mae.__version__}')
EOF
install_hash >"$STAMP"
say "done: activate with 'source $VENV/bin/activate'"
