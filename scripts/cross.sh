#!/usr/bin/env bash
# Cross builds of the lsms command for the ARM boards, into OUTDIR:
#
#   lsms-linux-arm64          GOARCH=arm64, static      (native backend)
#   lsms-linux-armv7          GOARCH=arm GOARM=7, static (native backend)
#   lsms-linux-arm64-tflite   GOARCH=arm64 with the "tflite" backend, which
#                             dlopens libtensorflowlite_c through purego: no
#                             cgo, but linked against the system's dynamic
#                             loader and libc (boards with GPU/NPU delegates)
#
# All with CGO_ENABLED=0, -trimpath, stripped, and main.version from git
# describe. The static builds use -tags notflite, which leaves the tflite
# backend (and purego's dynamic imports) out. Each result is checked with
# file(1) — a static ARM ELF, or for the tflite build a dynamic one asking
# for the aarch64 glibc loader — or the script fails naming the binary.
#
# usage: scripts/cross.sh [OUTDIR]   (default bin/cross)
# GO picks the go command; GOFLAGS passes through to go build.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/cross}
go=${GO:-go}
ver=$(git describe --always --dirty 2>/dev/null || echo dev)
command -v file >/dev/null 2>&1 || { echo "cross: file(1) is needed to check the binaries (apt-get install file)" >&2; exit 1; }
mkdir -p "$out"

# build NAME GOARCH GOARM TAGS WANT-MACHINE LINK(static|dynamic)
build() {
  local name=$1 goarch=$2 goarm=$3 tags=$4 machine=$5 link=$6 dst="$out/$1"
  echo "cross: $name (GOARCH=$goarch${goarm:+ GOARM=$goarm}${tags:+ -tags $tags}, version $ver)"
  CGO_ENABLED=0 GOOS=linux GOARCH="$goarch" GOARM="$goarm" \
    "$go" build -trimpath ${tags:+-tags "$tags"} -ldflags "-s -w -X main.version=$ver" -o "$dst.tmp" ./cmd/lsms \
    || { rm -f "$dst.tmp"; echo "cross: building $name failed" >&2; exit 1; }
  mv -f "$dst.tmp" "$dst"
  local desc
  desc=$(file -b "$dst")
  case $desc in
    *"$machine"*) ;;
    *) echo "cross: $dst is not a $machine ELF: $desc" >&2; exit 1 ;;
  esac
  case $link in
    static)
      case $desc in
        *"statically linked"*) ;;
        *) echo "cross: $dst is not statically linked: $desc" >&2
           echo "cross: (is the tflite backend left out by -tags notflite? cmd/lsms/backend_tflite.go needs //go:build !notflite)" >&2
           exit 1 ;;
      esac ;;
    dynamic)
      case $desc in
        *"dynamically linked, interpreter /lib/ld-linux-aarch64.so.1"*) ;;
        *) echo "cross: $dst does not ask for the aarch64 glibc loader: $desc" >&2; exit 1 ;;
      esac ;;
  esac
  echo "  $dst: $desc"
}

build lsms-linux-arm64 arm64 "" notflite "ELF 64-bit LSB executable, ARM aarch64" static
build lsms-linux-armv7 arm 7 notflite "ELF 32-bit LSB executable, ARM, EABI5" static
build lsms-linux-arm64-tflite arm64 "" "" "ELF 64-bit LSB executable, ARM aarch64" dynamic
