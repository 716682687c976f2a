"""Rebuild fer_bench/sample/fer2013-sample.csv.gz: a stratified sample of the real FER-2013 CSV.

    python scripts/make_sample.py ../shared/data/fer2013/fer2013.csv.gz

Rows are copied byte for byte from the source, so the sample is the canonical CSV format.
"""

import gzip
import sys
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

SIZES = {"Training": 300, "PublicTest": 100, "PrivateTest": 100}
TARGET = Path(__file__).resolve().parent.parent / "fer_bench" / "sample" / "fer2013-sample.csv.gz"


def main(source: str) -> None:
    lines = gzip.decompress(Path(source).read_bytes()).split(b"\n")
    header, rows = lines[0].rstrip(b"\r"), [r.rstrip(b"\r") for r in lines[1:] if r.strip()]
    labels = np.array([int(r.split(b",")[0]) for r in rows])
    usage = np.array([r.rsplit(b",", 1)[1].decode() for r in rows])
    chosen = []
    for name, size in SIZES.items():
        idx = np.flatnonzero(usage == name)
        picked, _ = train_test_split(idx, train_size=size, stratify=labels[idx], random_state=0)
        chosen.extend(sorted(picked))
    body = b"\n".join([header, *(rows[i] for i in chosen)]) + b"\n"
    TARGET.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
    print(f"{TARGET}: {len(chosen)} images, {TARGET.stat().st_size} bytes")


if __name__ == "__main__":
    main(sys.argv[1])
