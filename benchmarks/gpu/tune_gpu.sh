#!/usr/bin/env bash
# `edgeseg tune --device cuda` on an NVIDIA machine: TensorRT engines (FP16, INT8, INT8 with the
# accuracy-aware fallback, FP8 from compute capability 8.9) where TensorRT is installed, else the
# torch runner on CUDA (eager FP32/FP16/BF16, torch.compile reduce-overhead). Results with
# nvidia-smi, lscpu and versions go to benchmarks/results/tune-gpu-<gpu>.{json,md,png}.
#
# Usage: benchmarks/gpu/tune_gpu.sh [SIZE=360x480] [CALIB_N=300]
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
DATA="$SHARED/data/camvid-half"
SIZE="${1:-360x480}"
CALIB_N="${2:-300}"
WORK="$REPO/benchmarks/.work/tune-gpu"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$WORK" "$REPO/benchmarks/results"
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader
MANIFEST="$WORK/calib-train-$CALIB_N.txt"
[ -f "$MANIFEST" ] || python -m edgeseg.cli.main calib make --data "$DATA" --split train -n "$CALIB_N" -o "$MANIFEST"
PICK="$(python -m edgeseg.cli.main tune "$SHARED/fixtures/s2fpn18_camvid_half.pth" --device cuda --val "$DATA" \
        --calib "$MANIFEST" --data "$DATA" --input-size "$SIZE" -o "$WORK/$SIZE" | tail -n 1)"
echo "pick: $PICK"
GPU="$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr ' ' '-' | tr -cd 'A-Za-z0-9-')"
OUT="$REPO/benchmarks/results/tune-gpu-$GPU"
cp "$WORK/$SIZE/tune.json" "$OUT.json"
{ cat "$WORK/$SIZE/tune.md"; echo; echo '```'; nvidia-smi; lscpu | grep -E 'Model name|^CPU\(s\)|Flags'; echo '```'; } > "$OUT.md"
[ -f "$WORK/$SIZE/tune.png" ] && cp "$WORK/$SIZE/tune.png" "$OUT.png"
echo "$OUT.md"
