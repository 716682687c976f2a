#!/usr/bin/env bash
# The whole GPU check in one prepared run (about 10 minutes on one H100): the study's baseline,
# the speed options (batch size, steps per call, mixed precision) and filter chains at full data
# on JAX. Results go to $OUT/results.tar.gz. Name stages to run only those.
#
#   bash scripts/gpu_check.sh full [baseline] [throughput] [filters]   # on the GPU machine
#   bash scripts/gpu_check.sh tiny    # the same steps on a CPU, on the bundled sample (about 3 minutes)
results=${GPU_RESULTS:-/tmp/fer-bench-gpu-results}
source "$(dirname "$0")/gpu_common.sh"
shift
stages=("${@:-baseline throughput filters}")
stages=(${stages[*]})
if [ "$mode" = full ]; then
  declare -A limit=([baseline]=280 [throughput]=150 [filters]=150)
  extra=()
else
  declare -A limit=([baseline]=300 [throughput]=300 [filters]=300)
  extra=(--epochs 1 --seeds 1 --max-train-samples 70 --max-eval-samples 35)
fi
declare -A args=([baseline]="benchmark/baseline.yaml" [throughput]="benchmark/throughput.yaml"
                 [filters]="benchmark/filters.yaml --seeds 1")
for name in "${stages[@]}"; do
  [ -n "${args[$name]:-}" ] || { echo "gpu_check.sh: unknown stage '$name'; allowed: baseline throughput filters"; exit 2; }
  stage "$name" "${limit[$name]}" ${args[$name]}
done
"$py" -m fer_bench status "$results"
echo "results: $out/results.tar.gz"
