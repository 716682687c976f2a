#!/usr/bin/env bash
# Get the working tree ready for a window on the GPU machine (no internet, no TensorFlow, at most
# 64 MiB travel): the wheels it lacks into .whl/, the compact data into .gpu/, and the travel size.
#
#   bash scripts/gpu_prepare.sh          # wheels and data, then the size check
#   bash scripts/gpu_prepare.sh aside    # rendered reports (6.5 MB) into .gpu-aside/, which does not travel
#   bash scripts/gpu_prepare.sh back     # and back again, after the window
#
# Versions are pinned to this machine's (the tox env's) so the device runs what the tests ran. The
# report's extras (Optuna and its SQLAlchemy) stay behind: render the report from the records here.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.tox/py/bin/python}
limit=$((64 * 1024 * 1024))
case "${1:-prepare}" in
  aside)
    for f in $(git ls-files 'results/**/report.html'); do
      if [ -f "$f" ]; then mkdir -p ".gpu-aside/$(dirname "$f")"; mv "$f" ".gpu-aside/$f"; fi
    done
    ;;
  back)
    if [ -d .gpu-aside ]; then
      for f in $(cd .gpu-aside && find . -type f); do mv ".gpu-aside/$f" "$f"; done
      rm -rf .gpu-aside
    fi
    ;;
  prepare)
    pins=$("$py" -m pip list --format=freeze 2>/dev/null | grep -iE \
      '^(keras|keras-tuner|pydantic|pydantic[-_]core|annotated-types|typing-inspection|fastjsonschema)==' || true)
    [ -n "$pins" ] || { echo "gpu_prepare.sh: no tox env at $py (python3 -m tox -e py --notest)"; exit 2; }
    rm -rf .whl && ../shared/tools/device-wheels $pins >/dev/null
    [ -s .gpu/fer2013.pixels.xz ] || "$py" scripts/compact_data.py pack "${FER_BENCH_DATA:?set FER_BENCH_DATA}" .gpu
    ;;
  *) echo "gpu_prepare.sh: unknown step '$1'; allowed: prepare, aside, back"; exit 2 ;;
esac
tree=$(git ls-files -z | { xargs -0 stat -c %s 2>/dev/null || true; } | awk '{s += $1} END {print s}')
carried=$(du -cb .whl .gpu 2>/dev/null | tail -1 | cut -f1)
total=$((tree + carried))
echo "travels: tree $((tree / 1024 / 1024)) MiB + .whl and .gpu $((carried / 1024 / 1024)) MiB = $((total / 1024 / 1024)) MiB of 64"
[ "$total" -le "$limit" ] || echo "over 64 MiB: bash scripts/gpu_prepare.sh aside (and back after the window)"
