#!/usr/bin/env bash
# Reproduce the CPU accuracy/speed table with `edgeseg bench` + `edgeseg compare`.
#
#   benchmarks/bench_cpu.sh [ARTIFACT...]
#
# With artifacts: time each with ONNX Runtime (or PyTorch for .pth) on this CPU and measure mIoU
# on camvid-half val; the first artifact is the accuracy reference. Without: first export
# FP32 / FP16 / INT8 of the trained CamVid checkpoint into benchmarks/.work/cpu, then the same.
# Writes RESULTS/NAME.{json,md,csv,png}.
#
# Environment (defaults): THREADS=2  ITERS=100  WARMUP=10
#   SIZE (HxW for dynamic inputs and the export; default: each artifact's own, 180x240 for the export)
#   DATA=../shared/data/camvid-half (NONE: speed only)  RESULTS=benchmarks/results  NAME=bench-cpu
set -euo pipefail
ARTIFACTS=()
for a in "$@"; do ARTIFACTS+=("$(realpath -m "$a")"); done  # before cd: paths as the caller gave them
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2} ITERS=${ITERS:-100} WARMUP=${WARMUP:-10} SIZE=${SIZE:-}
DATA=${DATA:-../shared/data/camvid-half} RESULTS=${RESULTS:-benchmarks/results} NAME=${NAME:-bench-cpu}
OUT=benchmarks/.work/cpu

if [ ${#ARTIFACTS[@]} -eq 0 ]; then
  CKPT=../shared/fixtures/s2fpn18_camvid_half.pth
  [ -f "$CKPT" ] || { echo "no artifacts given and no trained checkpoint at $CKPT" >&2; exit 1; }
  edgeseg calib make --data "$DATA" --split train -n 300 -o "$OUT/calib-300.txt" >/dev/null
  for P in fp32 fp16 int8; do
    EXTRA=()
    [ "$P" = int8 ] && EXTRA=(--calib "$OUT/calib-300.txt" --data "$DATA")
    ARTIFACTS+=("$(edgeseg export "$CKPT" -o "$OUT" --input-size "${SIZE:-180x240}" --precision "$P" "${EXTRA[@]}" | tail -n 1)")
  done
fi

ACCURACY=() SIZE_OPT=()
[ "$DATA" != NONE ] && ACCURACY=(--data "$DATA" --split val)
[ -n "$SIZE" ] && SIZE_OPT=(--input-size "$SIZE")
mkdir -p "$RESULTS"
edgeseg bench "${ARTIFACTS[@]}" --device cpu --provider cpu --threads "$THREADS" --warmup "$WARMUP" \
  --iters "$ITERS" "${SIZE_OPT[@]}" "${ACCURACY[@]}" --json "$RESULTS/$NAME.json" --md "$RESULTS/$NAME.md"
edgeseg compare "$RESULTS/$NAME.json" --csv "$RESULTS/$NAME.csv" --plot "$RESULTS/$NAME.png" \
  --title "edgeseg bench on $(uname -m), $THREADS threads: mIoU vs FPS" >/dev/null
echo "$RESULTS/$NAME.json"
