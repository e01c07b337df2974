#!/bin/sh
# Regenerates the TFLite flatbuffer bindings in this folder.
# Generator: flatc 2.0.8 (Debian 12 package flatbuffers-compiler).
# Input: tensorflow/compiler/mlir/lite/schema/schema.fbs from the Go module zip
# github.com/tensorflow/tensorflow@v2.18.0+incompatible. flatc 2.0.8 rejects the
# "(deprecated)" attribute on an enum value and on a table, so the two places
# that use it (REDUCE_WINDOW, ReduceWindowOptions) lose the attribute first.
set -eu
cd "$(dirname "$0")"
mod=github.com/tensorflow/tensorflow@v2.18.0+incompatible
dir=$(go mod download -json "$mod" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
[ -n "$dir" ] || { echo "gen.sh: cannot download $mod" >&2; exit 1; }
command -v flatc >/dev/null || { echo "gen.sh: flatc missing (apt-get install flatbuffers-compiler)" >&2; exit 1; }
case "$(flatc --version)" in *2.0.8*) ;; *) echo "gen.sh: want flatc 2.0.8, have $(flatc --version)" >&2; exit 1;; esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed -e 's/REDUCE_WINDOW = 205 (deprecated)/REDUCE_WINDOW = 205/' \
    -e 's/^  ReduceWindowOptions (deprecated),/  ReduceWindowOptions,/' \
    -e 's/^table ReduceWindowOptions (deprecated) {/table ReduceWindowOptions {/' \
    "$dir/tensorflow/compiler/mlir/lite/schema/schema.fbs" > "$tmp/schema.fbs"
flatc --go --gen-object-api --go-namespace schema -o "$tmp/out" "$tmp/schema.fbs"
rm -f ./*_generated.go
for f in "$tmp"/out/schema/*.go; do
  b=$(basename "$f" .go)
  cp "$f" "./${b}_generated.go"
done
sha256sum "$tmp/schema.fbs" | cut -d' ' -f1 > schema.fbs.sha256
gofmt -w ./*_generated.go
