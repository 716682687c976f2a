#!/usr/bin/env bash
# The state-of-the-art recipe on one GPU in about 8 minutes of compute: gpu_check.sh's last two
# stages, given more time: first the time-to-accuracy benchmark (stops at 65% validation
# accuracy), then the full recipe for as many epochs as fit in 240 s of training, scored with ten-crop
# test views; both on the device loop. Results, with the rendered report, go to $OUT/results.tar.gz.
#
#   bash scripts/gpu_sota.sh full    # on the GPU machine
#   bash scripts/gpu_sota.sh tiny    # the same steps on a CPU, on the bundled sample, as gpu_check.sh tiny runs them
export GPU_RESULTS=${GPU_RESULTS:-/tmp/fer-bench-sota-results} SOTA_BUDGET=240 SOTA_LIMIT=330 TIME_TO_ACCURACY_LIMIT=200
exec bash "$(dirname "$0")/gpu_check.sh" "${1:-full}" time_to_accuracy sota
