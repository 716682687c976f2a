"""Move FER-2013 to a machine without room for the CSV: about 52 MiB instead of 90.

    python scripts/compact_data.py pack ../shared/data/fer2013/fer2013.csv.gz .gpu
    python scripts/compact_data.py unpack .gpu /tmp/fer2013.npz      # on the other machine

`pack` writes the uint8 pixels xz-compressed behind a delta filter over the row above (each image
row is 48 bytes; preset 9, 52 MiB in 150 s, where preset 6 made 54), and labels and usage as a
small .npz. `unpack` writes one .npz that fer-bench reads with --data; its fingerprint equals the
source's.
"""

import lzma
import sys
from pathlib import Path

import numpy as np

PIXELS, LABELS = "fer2013.pixels.xz", "fer2013.labels.npz"
FILTERS = [{"id": lzma.FILTER_DELTA, "dist": 48}, {"id": lzma.FILTER_LZMA2, "preset": 9}]


def pack(source: str, folder: str) -> None:
    from fer_bench.data.source import load_data

    data = load_data(Path(source))
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    (out / PIXELS).write_bytes(lzma.compress(data.pixels.tobytes(), format=lzma.FORMAT_XZ, filters=FILTERS))
    np.savez(out / LABELS, labels=data.labels, usage=data.usage, fingerprint=np.array(data.fingerprint))
    print(f"{out}: {sum(f.stat().st_size for f in out.iterdir()) / 2**20:.1f} MiB, {data.fingerprint}")


def unpack(folder: str, target: str) -> None:
    meta = np.load(Path(folder) / LABELS)
    pixels = np.frombuffer(lzma.decompress((Path(folder) / PIXELS).read_bytes()), np.uint8).reshape(-1, 48, 48)
    np.savez(target, pixels=pixels, labels=meta["labels"], usage=meta["usage"])
    print(f"{target}: {len(pixels)} images, packed from data {meta['fingerprint']}")


if __name__ == "__main__":
    {"pack": pack, "unpack": unpack}[sys.argv[1]](*sys.argv[2:])
