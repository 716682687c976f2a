"""FER-2013 from its canonical CSV (plain or gzip) or an image-folder tree -> arrays in canonical order.

Labels are always the canonical indices 0..6 (4=Sad, 5=Surprise, 6=Neutral), whatever the order
of class folders on disk. Pixels stay uint8 here; the runner scales them to [0, 1].
"""

import gzip
import hashlib
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_bench.errors import UserError

EMOTIONS = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")
USAGES = ("Training", "PublicTest", "PrivateTest")
SIDE = 48
PIXELS = SIDE * SIDE
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".pgm")
SAMPLE_PATH = Path(__file__).resolve().parent.parent / "sample" / "fer2013-sample.csv.gz"


@dataclass
class FERData:
    """All images of one source, in the source's own order."""

    pixels: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # uint8 (N,), canonical emotion index
    usage: np.ndarray  # uint8 (N,), index into USAGES
    path: Path
    format: str  # "csv", "csv.gz", "npz" or "folders"
    fingerprint: str
    digests: np.ndarray  # 'S16' per image: identifies rows independently of their order
    from_cache: bool = False

    @property
    def is_sample(self) -> bool:
        return self.path.resolve() == SAMPLE_PATH.resolve()

    def indices(self, usage: str) -> np.ndarray:
        return np.flatnonzero(self.usage == USAGES.index(usage))

    def describe(self) -> dict:
        return {
            "source": "sample" if self.is_sample else "file",
            "path": str(self.path),
            "format": self.format,
            "fingerprint": self.fingerprint,
        }


def source_format(path: Path) -> str:
    if path.is_dir():
        return "folders"
    name = path.name.lower()
    if name.endswith(".csv.gz"):
        return "csv.gz"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".npz"):
        return "npz"
    raise UserError(f"{path}: unknown data format; expected a .csv, a .csv.gz, an .npz or a folder tree")


def parse_source(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixels, labels, usage) decoded from `path`; every defect is a UserError naming it."""
    if not path.exists():
        raise UserError(f"{path}: no such file or folder (give FER-2013 with --data PATH)")
    fmt = source_format(path)
    if fmt == "folders":
        arrays = _parse_folders(path)
    elif fmt == "npz":
        arrays = _parse_npz(path)
    else:
        arrays = _parse_csv(path, _read_bytes(path, gzipped=fmt == "csv.gz"))
    if not len(arrays[0]):
        raise UserError(f"{path}: no images in it")
    return arrays


def row_digests(pixels: np.ndarray, labels: np.ndarray, usage: np.ndarray) -> np.ndarray:
    rows = np.concatenate([usage[:, None], labels[:, None], pixels.reshape(len(pixels), -1)], axis=1)
    rows = np.ascontiguousarray(rows, dtype=np.uint8)
    return np.array([hashlib.blake2b(r.data, digest_size=16).digest() for r in rows], dtype="S16")


def fingerprint_of(digests: np.ndarray) -> str:
    """Hash of the decoded images, labels and usages; the same for any file format or row order."""
    return "sha256:" + hashlib.sha256(np.sort(digests).tobytes()).hexdigest()[:16]


def _read_bytes(path: Path, gzipped: bool) -> bytes:
    data = path.read_bytes()
    if not gzipped:
        return data
    try:
        from isal import igzip

        return igzip.decompress(data)
    except ImportError:
        pass
    except Exception as exc:  # isal raises its own error types for bad streams
        raise UserError(f"{path}: not a complete gzip file ({exc})") from None
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, gzip.BadGzipFile) as exc:
        raise UserError(f"{path}: not a complete gzip file ({exc})") from None


def _parse_csv(path: Path, raw: bytes):
    lines = raw.split(b"\n")
    header = lines[0].strip().decode("utf-8", "replace").split(",")
    columns = [c.strip() for c in header]
    if sorted(columns) != sorted(["emotion", "pixels", "Usage"]):
        raise UserError(
            f"{path}: line 1: columns are {columns}; expected emotion,pixels,Usage (the FER-2013 CSV)"
        )
    col = {name: columns.index(name) for name in ("emotion", "pixels", "Usage")}
    usage_codes = {u.encode(): i for i, u in enumerate(USAGES)}
    label_codes = {str(i).encode(): i for i in range(len(EMOTIONS))}
    rows = [line.rstrip(b"\r") for line in lines[1:]]
    while rows and not rows[-1].strip():
        rows.pop()
    if not rows:
        raise UserError(f"{path}: has a header but no images")
    labels = np.empty(len(rows), np.uint8)
    usage = np.empty(len(rows), np.uint8)
    pixel_fields = []
    for i, row in enumerate(rows):
        fields = row.split(b",")
        line = i + 2
        if len(fields) != 3:
            raise UserError(f"{path}: line {line}: expected 3 fields (emotion,pixels,Usage), got {len(fields)}")
        label, pix, use = fields[col["emotion"]].strip(), fields[col["pixels"]], fields[col["Usage"]].strip()
        if label not in label_codes:
            raise UserError(f"{path}: line {line}: emotion {_show(label)} is not one of 0..6")
        if use not in usage_codes:
            raise UserError(f"{path}: line {line}: Usage {_show(use)} is not one of {', '.join(USAGES)}")
        if pix.count(b" ") != PIXELS - 1:
            _check_pixel_row(path, line, pix)
        labels[i], usage[i] = label_codes[label], usage_codes[use]
        pixel_fields.append(pix)
    values = _parse_pixels(b" ".join(pixel_fields))
    if values is None or values.size != len(rows) * PIXELS:
        for i, pix in enumerate(pixel_fields):
            _check_pixel_row(path, i + 2, pix)
        raise UserError(f"{path}: pixels could not be parsed")
    if values.max(initial=0) > 255 or values.min(initial=0) < 0:
        bad = int(np.flatnonzero((values > 255) | (values < 0))[0]) // PIXELS
        raise UserError(f"{path}: line {bad + 2}: pixel values must be 0..255")
    return values.astype(np.uint8).reshape(-1, SIDE, SIDE), labels, usage


def _parse_pixels(text: bytes):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return np.fromstring(text, dtype=np.int16, sep=" ")
        except (ValueError, DeprecationWarning):
            return None


def _parse_npz(path: Path):
    """Arrays `pixels` (N, 48, 48) uint8, `labels` and `usage` (N,) as integers: a compact copy."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in ("pixels", "labels", "usage") if key in npz}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable .npz file ({exc.__class__.__name__})") from None
    missing = sorted({"pixels", "labels", "usage"} - set(arrays))
    if missing:
        raise UserError(f"{path}: missing arrays {', '.join(missing)}; expected pixels, labels and usage")
    pixels, labels, usage = arrays["pixels"], arrays["labels"], arrays["usage"]
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[1:] != (SIDE, SIDE):
        raise UserError(f"{path}: pixels must be uint8 of shape (N, 48, 48), got {pixels.dtype} {pixels.shape}")
    for key, values, limit in (("labels", labels, len(EMOTIONS)), ("usage", usage, len(USAGES))):
        if values.shape != (len(pixels),) or values.dtype.kind not in "iu" or \
                values.size and (values.min() < 0 or values.max() >= limit):
            raise UserError(f"{path}: {key} must be {len(pixels)} integers in 0..{limit - 1}")
    return pixels, labels.astype(np.uint8), usage.astype(np.uint8)


def _check_pixel_row(path: Path, line: int, pix: bytes) -> None:
    values = _parse_pixels(pix)
    if values is None:
        raise UserError(f"{path}: line {line}: pixels must be {PIXELS} integers 0..255 separated by spaces")
    if values.size != PIXELS:
        raise UserError(f"{path}: line {line}: {values.size} pixels, expected {PIXELS} (48x48)")


def _show(value: bytes) -> str:
    text = value.decode("utf-8", "backslashreplace")
    return repr(text[:20] + ("..." if len(text) > 20 else ""))


def class_index(folder_name: str) -> int | None:
    names = {e.lower(): i for i, e in enumerate(EMOTIONS)}
    return names.get(folder_name.strip().lower())


def _parse_folders(root: Path):
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise UserError(f"{root}: no images found (expected train/<class>/*.jpg|png and test/<class>/...)")
    pixels = np.empty((len(files), SIDE, SIDE), np.uint8)
    labels = np.empty(len(files), np.uint8)
    usage = np.empty(len(files), np.uint8)
    unknown = set()
    for i, file in enumerate(files):
        label = class_index(file.parent.name)
        if label is None:
            unknown.add(file.parent.name)
            continue
        labels[i], usage[i] = label, _usage_of(root, file)
        try:
            with Image.open(file) as image:
                size = image.size
                grey = image.convert("L")  # colour images: ITU-R 601 luma, as Pillow defines it
        except (UnidentifiedImageError, OSError) as exc:
            raise UserError(f"{file}: unreadable image ({exc.__class__.__name__})") from None
        if size != (SIDE, SIDE):
            raise UserError(f"{file}: image is {size[0]}x{size[1]}, expected 48x48")
        pixels[i] = np.asarray(grey, dtype=np.uint8)
    if unknown:
        allowed = ", ".join(e.lower() for e in EMOTIONS)
        found = ", ".join(sorted(unknown))
        raise UserError(f"{root}: folders {found} are no FER-2013 class (allowed, any case: {allowed})")
    return pixels, labels, usage


def _usage_of(root: Path, file: Path) -> int:
    for i, usage in enumerate(USAGES):
        if file.name.startswith(usage + "_"):
            return i
    if file.relative_to(root).parts[0].lower() == "train":
        return USAGES.index("Training")
    raise UserError(
        f"{file}: cannot tell its split: name it Training_*, PublicTest_* or PrivateTest_*, "
        "or put it under train/"
    )


def source_key(path: Path) -> str:
    """Changes whenever the source's content may have changed: the cache's key."""
    digest = hashlib.sha256()
    if path.is_dir():
        for file in sorted(path.rglob("*")):
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                digest.update(chunk)
    return digest.hexdigest()[:32]
