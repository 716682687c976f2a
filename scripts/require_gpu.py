"""Stop `tox -e gpu` at once, before it installs gigabytes, when this machine has no NVIDIA GPU."""

import shutil
import subprocess
import sys

if shutil.which("nvidia-smi") is None:
    sys.exit("tox -e gpu: no NVIDIA driver here (nvidia-smi not found); use `tox -e demo` or `tox -e py` on a CPU")
listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
if listing.returncode != 0 or "GPU" not in listing.stdout:
    sys.exit(f"tox -e gpu: nvidia-smi lists no GPU ({listing.stderr.strip() or listing.stdout.strip()})")
print(listing.stdout.strip())
