#!/usr/bin/env bash
# Reproduce the CPU accuracy/speed table: export FP32/FP16/INT8 of the trained CamVid checkpoint,
# benchmark them with mIoU on camvid-half val, and turn the JSON into the table and plot.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=../shared
OUT=benchmarks/.work/cpu
CKPT=$SHARED/fixtures/s2fpn18_camvid_half.pth
DATA=$SHARED/data/camvid-half
edgeseg calib make --data "$DATA" --split train -n 300 -o "$OUT/calib-300.txt" >/dev/null
FP32=$(edgeseg export "$CKPT" -o "$OUT" --input-size 180x240 | tail -n 1)
FP16=$(edgeseg export "$CKPT" -o "$OUT" --input-size 180x240 --precision fp16 | tail -n 1)
INT8=$(edgeseg export "$CKPT" -o "$OUT" --input-size 180x240 --precision int8 --calib "$OUT/calib-300.txt" --data "$DATA" | tail -n 1)
edgeseg bench "$FP32" "$FP16" "$INT8" --device cpu --threads 2 --iters 100 --data "$DATA" --json benchmarks/results/bench-cpu.json
edgeseg compare benchmarks/results/bench-cpu.json --md benchmarks/results/bench-cpu.md --plot benchmarks/results/bench-cpu.png
