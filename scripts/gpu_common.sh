# Sourced by the prepared GPU scripts (gpu_check.sh, gpu_sota.sh): the machine set-up they share.
# The GPU machine has no internet and no TensorFlow: Keras runs on JAX from wheels carried in
# .whl/, the data comes as the compact copy in .gpu/ (scripts/compact_data.py pack). In `tiny`
# mode the same steps run on a CPU, on the bundled sample. Each script sets `results` first.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-full}
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out" "$results"
export KERAS_BACKEND=jax FER_BENCH_CACHE=${FER_BENCH_CACHE:-/tmp/fer-bench-cache} KERAS_HOME=/tmp/fer-bench-keras
py=${PYTHON:-python3}
if [ "$mode" = full ] && compgen -G ".whl/*.whl" >/dev/null; then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
if [ "$mode" = full ]; then
  # a second call on a still-warm machine finds the copy unpacked by the first
  [ -s /tmp/fer2013.npz ] || "$py" scripts/compact_data.py unpack .gpu /tmp/fer2013.npz || exit 1
  data=/tmp/fer2013.npz device=gpu
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
else
  data=fer_bench/sample/fer2013-sample.csv.gz device=cpu
fi
"$py" -c "import jax, keras; print('jax', jax.__version__, jax.devices(), 'keras', keras.__version__)"

# --corruptions off: FER-2013-C is made with OpenCV, whose wheel alone outweighs what travels to the card
stage() {  # name, seconds, fer-bench run arguments (extra ones last, so tiny's win); SIGINT stops cleanly
  local name=$1 limit=$2; shift 2
  echo "== $name (at most ${limit}s): $*"
  timeout --signal=INT --kill-after=20 "$limit" \
    "$py" -m fer_bench run "$@" --data "$data" --out "$results" --device "$device" --corruptions off "${extra[@]}"
  echo "== $name exit $?"
  pack  # after every stage: a cut-off run keeps what it did
}

pack() {  # records and report into $OUT; saved models (sota's best.keras is 300 MB) stay on the machine,
  # since a file over 16 MiB does not come back from it
  tar -czf "$out/results.tar.gz" --exclude='*.keras' -C "$results" .
}
