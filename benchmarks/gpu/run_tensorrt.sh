#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and TensorRT (pip install 'edgeseg[tensorrt]'):
# export FP32/FP16/INT8 of the trained CamVid checkpoint, build engines, check their argmax
# against ONNX Runtime on CPU over camvid-half val, time them, and record everything.
set -euo pipefail
cd "$(dirname "$0")/../.."
SHARED=../shared
OUT=benchmarks/.work/gpu
CKPT=$SHARED/fixtures/s2fpn18_camvid_half.pth
DATA=$SHARED/data/camvid-half
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr ' ' '-')
edgeseg calib make --data "$DATA" --split train -n 300 -o "$OUT/calib-300.txt" >/dev/null
ENGINES=()
for P in fp32 fp16 int8; do
  EXTRA=()
  [ "$P" = int8 ] && EXTRA=(--calib "$OUT/calib-300.txt" --data "$DATA")
  ONNX=$(edgeseg export "$CKPT" -o "$OUT" --input-size 180x240 --precision "$P" "${EXTRA[@]}" | tail -n 1)
  ENGINES+=("$(edgeseg build "$ONNX" -o "$OUT/s2fpn18_180x240.$P.engine" --timing-cache "$OUT/timing.cache" | tail -n 1)")
done
FP32_ONNX=$OUT/s2fpn18_180x240.fp32.onnx
python -m pytest -q -m gpu tests/runtime/test_tensorrt_runner.py
edgeseg eval "$FP32_ONNX" "${ENGINES[@]}" --data "$DATA" --json "benchmarks/results/tensorrt-$GPU-eval.json"
edgeseg bench "${ENGINES[@]}" --device cuda --iters 500 --json "benchmarks/results/tensorrt-$GPU.json"
edgeseg compare "benchmarks/results/tensorrt-$GPU.json" "benchmarks/results/tensorrt-$GPU-eval.json" \
  --md "benchmarks/results/tensorrt-$GPU.md" --plot "benchmarks/results/tensorrt-$GPU.png"
