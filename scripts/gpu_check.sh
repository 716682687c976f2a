#!/usr/bin/env bash
# The whole GPU check in one prepared run (about 9 minutes on one H100): the study's baseline,
# mixed precision and filter chains at full data on JAX. Results go to $OUT/results.tar.gz.
#
#   bash scripts/gpu_check.sh full    # on the GPU machine
#   bash scripts/gpu_check.sh tiny    # the same steps on a CPU, on the bundled sample, in a minute
results=${GPU_RESULTS:-/tmp/fer-bench-gpu-results}
source "$(dirname "$0")/gpu_common.sh"
if [ "$mode" = full ]; then
  limits=(280 90 150) extra=()
else
  limits=(300 300 300) extra=(--epochs 1 --seeds 1 --max-train-samples 70 --max-eval-samples 35)
fi
stage baseline "${limits[0]}" benchmark/baseline.yaml
stage precision "${limits[1]}" benchmark/precision.yaml --epochs 3
stage filters "${limits[2]}" benchmark/filters.yaml --seeds 1
"$py" -m fer_bench status "$results"
echo "results: $out/results.tar.gz"
