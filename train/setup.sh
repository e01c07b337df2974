#!/usr/bin/env bash
# Idempotent setup of the PyTorch training environment (Debian 12).
#   * python3-torch / python3-numpy / python3-pil for /usr/bin/python3
#   * OpenBLAS (pthread) selected for libblas.so.3 and liblapack.so.3
#     (Debian's torch otherwise links the netlib reference BLAS: ~8x slower)
#   * libjemalloc2, preloaded by train/py (LD_PRELOAD)
# Checks that it took effect: OpenBLAS is mapped into the torch process and a
# 512x512 float32 matmul runs fast. Fails loudly.
set -euo pipefail
PY=/usr/bin/python3
need=""
"$PY" -c 'import torch' >/dev/null 2>&1 || need="$need python3-torch"
"$PY" -c 'import numpy' >/dev/null 2>&1 || need="$need python3-numpy"
"$PY" -c 'import PIL' >/dev/null 2>&1 || need="$need python3-pil"
arch=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH"))')
libdir=/usr/lib/$arch
[ -e "$libdir/openblas-pthread/libblas.so.3" ] || need="$need libopenblas0-pthread"
[ -e "$libdir/libjemalloc.so.2" ] || need="$need libjemalloc2"
if [ -n "$need" ]; then
  echo "train/setup.sh: installing Debian packages:$need"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need \
    || { echo "train/setup.sh: apt-get install$need failed" >&2; exit 1; }
fi
for lib in libblas.so.3 liblapack.so.3; do
  want="$libdir/openblas-pthread/$lib"
  cur=$(readlink -f "$libdir/$lib" || true)
  if [ "$cur" != "$(readlink -f "$want")" ]; then
    echo "train/setup.sh: update-alternatives $lib -> $want"
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO update-alternatives --set "$lib-$arch" "$want"
  fi
done
# Verify in a fresh process, with jemalloc preloaded exactly as train/py does.
LD_PRELOAD="$libdir/libjemalloc.so.2" "$PY" - <<'PYEOF'
import sys, time, torch
maps = open("/proc/self/maps").read()
if "openblas" not in maps:
    sys.exit("train/setup.sh: OpenBLAS is not mapped into the torch process")
if "jemalloc" not in maps:
    sys.exit("train/setup.sh: jemalloc is not preloaded")
a = torch.randn(512, 512); b = torch.randn(512, 512)
a @ b
t = time.perf_counter()
for _ in range(10):
    a @ b
dt = (time.perf_counter() - t) / 10
gflops = 2 * 512 ** 3 / dt / 1e9
print(f"train/setup.sh: ok: torch {torch.__version__}, openblas+jemalloc, 512x512 matmul {dt*1e3:.2f} ms ({gflops:.1f} GFLOP/s)")
if gflops < 5:
    sys.exit("train/setup.sh: matmul too slow (%.1f GFLOP/s): BLAS is not OpenBLAS?" % gflops)
PYEOF
