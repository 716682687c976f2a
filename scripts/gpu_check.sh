#!/usr/bin/env bash
# The GPU campaign in one prepared run, about 12 minutes on one H100/H200 under JAX, stages in
# order of value, each with its time limit; $OUT/results.tar.gz (records and the rendered report)
# is rewritten after every stage, so a cut-off run keeps what it did. Name stages to run only those;
# a stage run again resumes its trials.
#
#   speed        device loop against fit(): study model, batch 64, float32/bfloat16          90 s
#   together     the study model's 3 seeds grouped against one by one, 2 epochs (full only) 120 s
#   families     baseline, learning_rate, loss, depth at full data, 3 seeds, device loop,
#                trials of one model shape as one program (6 groups for 27 trials)         300 s
#   filters      the 7 filters trials missing from results/reference/h100-jax (fit, as the rest)  60 s
#   search       grid, random, Bayesian and Hyperband over the study's space, device loop   60 s
#   time_to_accuracy  the VGG recipe to 65% validation from process start, device loop       60 s
#   sota         the recipe, single model, under a 40 s training budget, device loop          60 s
#
#   bash scripts/gpu_check.sh full [STAGE...]   # on the GPU machine
#   bash scripts/gpu_check.sh tiny [STAGE...]   # each stage on a CPU, on the bundled sample, fewer trials
#
# In full mode SOTA_BUDGET (40), SOTA_LIMIT (60) and TIME_TO_ACCURACY_LIMIT (60) size the recipe's
# two stages; scripts/gpu_sota.sh is those two stages, given 240, 330 and 200. GPU_LIMITS="stage=s ..."
# sets other limits, and GPU_REPORT=off skips rendering the report at the end.
results=${GPU_RESULTS:-/tmp/fer-bench-gpu-results}
source "$(dirname "$0")/gpu_common.sh"
shift
all=(speed families filters search time_to_accuracy sota)
[ "$mode" = full ] && all=(speed together "${all[@]:1}")
stages=("${@:-${all[*]}}")
stages=(${stages[*]})
if [ "$mode" = full ]; then
  declare -A limit=([speed]=90 [together]=120 [families]=300 [filters]=60 [search]=60
                    [time_to_accuracy]=${TIME_TO_ACCURACY_LIMIT:-60} [sota]=${SOTA_LIMIT:-60})
  declare -A args=([speed]="benchmark/device_loop.yaml --only *batch_size-64_*" [families]="baseline learning_rate loss depth --loop device"
                   [filters]="filters" [search]="search --loop device" [time_to_accuracy]="time_to_accuracy --loop device"
                   [sota]="sota --loop device --budget ${SOTA_BUDGET:-40}" [together]="-")
  for pair in ${GPU_LIMITS:-}; do limit[${pair%%=*}]=${pair#*=}; done  # e.g. GPU_LIMITS="families=280 search=40"
  extra=()
  # The H100 run's filters records: resumed here, so only the missing trials train.
  [[ " ${stages[*]} " != *" filters "* || -d "$results/filters" ]] || cp -r results/reference/h100-jax/filters "$results/filters"
else  # every stage's machinery on a CPU in a few minutes: the same specs, fewer trials of each
  declare -A limit=([speed]=600 [families]=600 [filters]=600 [search]=600 [time_to_accuracy]=600 [sota]=600)
  declare -A args=([speed]="benchmark/device_loop.yaml --only *batch_size-64_mixed_precision-none*"
                   [families]="baseline loss --loop device" [filters]="filters --only conv_filters-32-*"
                   [search]="search_cpu --loop device --max-trials 3" [time_to_accuracy]="time_to_accuracy --loop device"
                   [sota]="sota --loop device --budget 20")
  extra=(--epochs 1 --seeds 1 --max-train-samples 64 --max-eval-samples 35)
fi
set -f  # the --only patterns are for fer-bench, not for the shell
for name in "${stages[@]}"; do
  [ -n "${args[$name]:-}" ] || { echo "gpu_check.sh: unknown stage '$name'; allowed: ${all[*]}"; exit 2; }
  if [ "$name" = together ]; then  # two runs of its own, each in a fresh process and compile cache
    echo "== together (at most ${limit[together]}s): perf/grouped.py, the study model's 3 seeds"
    timeout --signal=INT --kill-after=20 "${limit[together]}" "$py" perf/grouped.py --families study_cnn \
      --images 20096 --epochs 2 --device "$device" --data "$data" --together 3 | tee "$out/together.log"
    echo "== together exit ${PIPESTATUS[0]}"
    continue
  fi
  stage "$name" "${limit[$name]}" ${args[$name]}
done
"$py" -m fer_bench status "$results"
# GPU_REPORT=off leaves the report to the machine the records come back to (device time is scarcer)
[ "${GPU_REPORT:-on}" = off ] || { "$py" -m fer_bench report "$results" -o "$results/report.html" && pack; }
echo "results: $out/results.tar.gz"
