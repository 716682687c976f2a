"""Generated data files: FER-2013 CSVs with wrong, missing or extra columns, non-numeric or wrong
counts of pixels, labels and usages out of range, too few rows to split, gzip cut short, binary
noise, and .npz archives with the wrong arrays. `fer-bench data` (with and without --audit) answers
each under the property (answers.py)."""

import gzip
import io
import tempfile
from pathlib import Path

import numpy as np
import pytest
from answers import answered, examples
from hypothesis import given
from hypothesis import strategies as st

pytestmark = pytest.mark.slow  # a few hundred generated cases: seconds, not milliseconds

HEADERS = [b"emotion,pixels,Usage", b"emotion,pixels", b"pixels,emotion,Usage", b"emotion,pixels,Usage,extra",
           b"", b"emotion;pixels;Usage", b"\xef\xbb\xbfemotion,pixels,Usage", b"Emotion,Pixels,usage"]
USAGES = [b"Training", b"PublicTest", b"PrivateTest", b"training", b"", b"Test", b"\xff"]
LABELS = st.one_of(st.integers(-2, 9).map(lambda n: str(n).encode()), st.sampled_from([b"", b"x", b"1.5", b"7e0"]))


@st.composite
def pixel_strings(draw) -> bytes:
    count = draw(st.sampled_from([2304, 2304, 2304, 0, 1, 2303, 2305, 48]))
    values = draw(st.sampled_from(["zeros", "random", "out-of-range", "text"]))
    if values == "zeros":
        return b" ".join([b"0"] * count)
    if values == "random":
        return b" ".join(str(v).encode() for v in np.random.default_rng(count).integers(0, 256, count))
    odd = draw(st.sampled_from([b"256", b"-1", b"1.5", b"x", b"", b"nan"]))
    return b" ".join([b"0"] * max(count - 1, 0) + [odd])


@st.composite
def csv_files(draw) -> bytes:
    rows = [draw(st.sampled_from(HEADERS))]
    for _ in range(draw(st.integers(0, 24))):
        fields = [draw(LABELS), draw(pixel_strings()), draw(st.sampled_from(USAGES))]
        rows.append(b",".join(fields[:draw(st.sampled_from([3, 3, 3, 2, 4]))] + ([b"x"] if len(fields) > 3 else [])))
    return b"\n".join(rows) + draw(st.sampled_from([b"\n", b"", b"\r\n"]))


@st.composite
def npz_files(draw) -> bytes:
    n = draw(st.integers(0, 5))
    side, dtype = draw(st.sampled_from([48, 47, 1])), draw(st.sampled_from(["uint8", "float32"]))
    arrays = {"pixels": np.zeros((n, side, 48), dtype),
              "labels": np.zeros(draw(st.sampled_from([n, n + 1])), "int64"),
              "usage": np.array(["Training"] * n)}
    for name in draw(st.lists(st.sampled_from(sorted(arrays)), max_size=2, unique=True)):
        del arrays[name]
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


FILES = st.one_of(
    st.tuples(st.just("data.csv"), csv_files()),
    st.tuples(st.just("data.csv.gz"), csv_files().map(gzip.compress)),
    st.tuples(st.just("data.csv.gz"), st.tuples(csv_files(), st.integers(1, 200)).map(
        lambda pair: gzip.compress(pair[0])[:pair[1]])),
    st.tuples(st.sampled_from(["data.csv", "data.csv.gz", "data.npz", "data.bin"]), st.binary(max_size=300)),
    st.tuples(st.just("data.npz"), npz_files()),
)


@examples(120)
@given(FILES, st.booleans())
def test_any_data_file_is_described_or_refused_in_one_line(name_and_bytes, audit):
    name, content = name_and_bytes
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / name).write_bytes(content)
        answered("data", "--data", name, *(["--audit"] if audit else []), cwd=scratch,
                 env={"FER_BENCH_CACHE": str(Path(scratch) / "cache")})
