#!/usr/bin/env bash
# Runs packages' tests for ARM under user-mode QEMU (Debian qemu-user-static):
# go test cross-compiles the test binary (CGO_ENABLED=0, static) and runs it
# with -exec qemu-ARCH-static. Processes the tests start (node for the
# LiteRT oracle, dcmtk...) are host binaries and run natively.
#
# usage: scripts/qemu-test.sh [go test flags] [PACKAGES]
#   default packages: ./runtime/kernels/ (arm64: the NEON/SDOT GEMM and
#   NEON depthwise kernels and the pure-Go rest; arm: the pure-Go path, which -tags noasm selects
#   on every architecture)
#   QEMU_ARCHES   "arm64" (default), "arm64 arm" adds GOARM=7
#   GO            the go command (default go)
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
arches=${QEMU_ARCHES:-arm64}
args=("$@")
have_pkg=0
for a in "${args[@]}"; do case $a in ./*|github.com/*) have_pkg=1 ;; esac; done
[ $have_pkg = 1 ] || args+=(./runtime/kernels/)

for arch in $arches; do
  case $arch in
    arm64) qemu=qemu-aarch64-static; goarm= ;;
    arm)   qemu=qemu-arm-static; goarm=7 ;;
    *) echo "qemu-test: unknown arch $arch (arm64 or arm)" >&2; exit 2 ;;
  esac
  command -v "$qemu" >/dev/null 2>&1 \
    || { echo "qemu-test: $qemu not found (apt-get install qemu-user-static; make deps-apt)" >&2; exit 1; }
  echo "qemu-test: GOARCH=$arch${goarm:+ GOARM=$goarm} under $qemu: ${args[*]}"
  start=$SECONDS
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch GOARM=$goarm "$go" test -exec "$qemu" "${args[@]}"
  echo "qemu-test: $arch done in $((SECONDS - start)) s"
done
