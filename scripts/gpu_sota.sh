#!/usr/bin/env bash
# The state-of-the-art recipe on one GPU in about 8 minutes of compute: first the
# time-to-accuracy benchmark (stops at 65% validation accuracy), then the full recipe for as many
# epochs as fit in its budget, scored with ten-crop test views; both on the device loop, as in
# gpu_check.sh. Results, with the rendered report, go to $OUT/results.tar.gz.
#
#   bash scripts/gpu_sota.sh full    # on the GPU machine
#   bash scripts/gpu_sota.sh tiny    # the same steps on a CPU, on the bundled sample, in a minute or two
results=${GPU_RESULTS:-/tmp/fer-bench-sota-results}
source "$(dirname "$0")/gpu_common.sh"
if [ "$mode" = full ]; then
  limits=(200 330) budget=240 extra=()
else
  limits=(300 300) budget=20 extra=(--epochs 2 --max-train-samples 64 --max-eval-samples 35)
fi
stage time_to_accuracy "${limits[0]}" benchmark/time_to_accuracy.yaml --loop device
stage sota "${limits[1]}" benchmark/sota.yaml --budget "$budget" --loop device
"$py" -m fer_bench status "$results"
"$py" -m fer_bench report "$results" -o "$results/report.html" && pack
echo "results: $out/results.tar.gz"
