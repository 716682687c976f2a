#!/usr/bin/env bash
# The state-of-the-art recipe on one GPU in about 8 minutes of compute, prepared like
# scripts/gpu_check.sh (JAX from the wheels in .whl/, the data from the compact copy in .gpu/):
# first the time-to-accuracy benchmark (stops at 65% validation accuracy), then the full recipe
# for as many epochs as fit in its budget, scored with ten-crop test views.
# Results go to $OUT/results.tar.gz after each stage.
#
#   bash scripts/gpu_sota.sh full    # on the GPU machine
#   bash scripts/gpu_sota.sh tiny    # the same steps on a CPU, on the bundled sample, in a minute or two
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
out=${OUT:-$PWD/gpu-out}
results=${GPU_RESULTS:-/tmp/fer-bench-sota-results}
mkdir -p "$out" "$results"
export KERAS_BACKEND=jax FER_BENCH_CACHE=${FER_BENCH_CACHE:-/tmp/fer-bench-cache} KERAS_HOME=/tmp/fer-bench-keras
py=${PYTHON:-python3}
if [ "$mode" = full ] && compgen -G ".whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

if [ "$mode" = full ]; then
  "$py" scripts/compact_data.py unpack .gpu /tmp/fer2013.npz || exit 1
  data=/tmp/fer2013.npz device=gpu limits=(200 330) budget=240 extra=()
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
else
  data=fer_bench/sample/fer2013-sample.csv.gz device=cpu limits=(150 150) budget=20
  extra=(--epochs 2 --max-train-samples 70 --max-eval-samples 35)
fi
"$py" -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"

stage() {  # name, seconds, fer-bench run arguments (extra ones last, so tiny's win); SIGINT stops cleanly
  local name=$1 limit=$2; shift 2
  echo "== $name (at most ${limit}s): $*"
  timeout --signal=INT --kill-after=20 "$limit" \
    "$py" -m fer_bench run "$@" --data "$data" --out "$results" --device "$device" "${extra[@]}"
  echo "== $name exit $?"
  tar -czf "$out/results.tar.gz" -C "$results" .  # after every stage: a cut-off run keeps what it did
}
stage time_to_accuracy "${limits[0]}" benchmark/time_to_accuracy.yaml
stage sota "${limits[1]}" benchmark/sota.yaml --budget "$budget"
"$py" -m fer_bench status "$results"
"$py" -m fer_bench report "$results" -o "$results/report.html" && tar -czf "$out/results.tar.gz" -C "$results" .
echo "results: $out/results.tar.gz"
