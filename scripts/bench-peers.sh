#!/usr/bin/env bash
# make bench-peers: the LSMS vision forward in our runtime (float32 and int8),
# ONNX Runtime (onnxruntime-node, CPU), PyTorch (eager) and LiteRT.js (TFLite
# in WebAssembly) on the same weights and inputs, at 480×480 and 256×256,
# batch 1, 2 threads; prints medians and ratios (internal/peerbench).
#
#   scripts/bench-peers.sh [peerbench flags]     e.g. -config paper -runs 20
#
# Installs tools/peers' pinned onnxruntime-node when its lock file changed
# (npm ci --ignore-scripts: its postinstall would download a CUDA provider;
# the CPU libraries ship in the package). LiteRT.js comes from make deps-node.
set -euo pipefail
cd "$(dirname "$0")/.."
NPM=${NPM:-npm}
GO=${GO:-go}
peers=tools/peers

command -v node >/dev/null 2>&1 || { echo "bench-peers: node is not installed (make deps-apt)" >&2; exit 1; }
if [ ! -f "$peers/node_modules/.installed" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.installed" ]; then
	echo "bench-peers: npm ci in $peers"
	(cd "$peers" && ONNXRUNTIME_NODE_INSTALL=skip "$NPM" ci --ignore-scripts --no-audit --no-fund) \
		|| { echo "bench-peers: npm ci failed in $peers" >&2; exit 1; }
	touch "$peers/node_modules/.installed"
fi
train/py -c 'import torch' 2>/dev/null || { echo "bench-peers: PyTorch is missing (make train-setup)" >&2; exit 1; }

echo "bench-peers: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$GO" run ./internal/peerbench "$@"
