"""FER-2013-C: PublicTest under corruptions a webcam or a phone brings, at 5 severities (docs/robustness.md).

The corruptions are ImageNet-C's (Hendrycks & Dietterich, 2019), from the `imagecorruptions` package
(the imaug fork: the original fails on NumPy 2 and scikit-image >= 0.19), less three that do not fit a
48x48 grey face: `saturate` changes colour only, `spatter` paints coloured mud and water, and
`elastic_transform` scatters black and white pixels at this size instead of warping the face. Two more
hide a part of the face: a black band over the eyes and one over the mouth, placed where the mean
FER-2013 face has them (FER-2013's faces are centred but not aligned, so the band is where the part
usually is). Each copy is made once per data fingerprint from a fixed seed and cached, one file per
corruption holding its 5 severities, read without loading the others.
"""

import contextlib
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np

from fer_bench.data.formats import FERData
from fer_bench.errors import UserError
from fer_bench.progress import format_seconds
from fer_bench.storage import cache_dir

VERSION = 1  # of the corruptions' list, parameters and seeding: a change makes a new cache
SEED = 2013
SEVERITIES = (1, 2, 3, 4, 5)
PACKAGE_CORRUPTIONS = {
    "noise": ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise"),
    "blur": ("defocus_blur", "glass_blur", "motion_blur", "zoom_blur", "gaussian_blur"),
    "weather": ("snow", "frost", "fog"),
    "digital": ("brightness", "contrast", "pixelate", "jpeg_compression"),
}
OCCLUSIONS = {"eye_occlusion": 18, "mouth_occlusion": 38}  # the band's centre row on the mean face
OCCLUSION_HEIGHT = (4, 6, 8, 10, 12)  # rows hidden, by severity
OCCLUSION_WIDTH = {"eye_occlusion": (20, 26, 32, 38, 44), "mouth_occlusion": (16, 20, 24, 28, 32)}
GROUPS = {**PACKAGE_CORRUPTIONS, "occlusion": tuple(OCCLUSIONS)}
CORRUPTIONS = tuple(name for names in GROUPS.values() for name in names)
# Two of the package's corruptions draw from a generator of their own unless given a seed.
SEEDED_BY_ARGUMENT = ("impulse_noise", "glass_blur")


def corrupt(images: np.ndarray, name: str, severity: int) -> np.ndarray:
    """`images` (n, 48, 48) uint8 under corruption `name` at `severity` (0: the images unchanged), the same
    every time: each (corruption, severity) starts from its own fixed seed and corrupts the images in order."""
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; allowed: {', '.join(CORRUPTIONS)}")
    if severity not in (0, *SEVERITIES):
        raise ValueError(f"severity {severity}: allowed 0 to {SEVERITIES[-1]}")
    if severity == 0:
        return images.copy()
    if name in OCCLUSIONS:
        return occlude(images, name, severity)
    from imagecorruptions import corrupt as package_corrupt

    # The package draws from NumPy's global generator: seed it for this corruption, and give the caller's
    # state back afterwards.
    state = np.random.get_state()
    np.random.seed((SEED + zlib.crc32(name.encode()) + severity) % 2**32)
    try:
        out = np.empty_like(images)
        for i, image in enumerate(images):
            extra = {"seed": int(np.random.randint(2**31))} if name in SEEDED_BY_ARGUMENT else {}
            # The package works on three channels; a grey face is three equal ones. Channel 0 is kept: noise
            # drawn per channel and averaged back to grey would be a third as strong.
            three = np.repeat(image[..., None], 3, axis=2)
            out[i] = np.asarray(package_corrupt(three, severity=severity, corruption_name=name, **extra))[..., 0]
    finally:
        np.random.set_state(state)
    return out


def occlude(images: np.ndarray, name: str, severity: int) -> np.ndarray:
    """A black band over the eyes or the mouth, taller and wider with severity."""
    out = images.copy()
    height, width = OCCLUSION_HEIGHT[severity - 1], OCCLUSION_WIDTH[name][severity - 1]
    top, left = OCCLUSIONS[name] - height // 2, (images.shape[2] - width) // 2
    out[:, top:top + height, left:left + width] = 0
    return out


def check_makeable(data: FERData, where: str) -> None:
    """One line, before anything trains, where FER-2013-C is not cached and the package that makes it is
    missing (an extra: its OpenCV alone outweighs what travels to a lent GPU)."""
    if all(CorruptedPublicTest(data).path(name).exists() for name in CORRUPTIONS):
        return
    try:
        import imagecorruptions  # noqa: F401
    except ImportError:
        raise UserError(f"{where}: making FER-2013-C needs the imagecorruptions package: pip install "
                        f"'fer-bench[robustness]', or turn it off with --corruptions off") from None


class CorruptedPublicTest:
    """FER-2013-C of one data source: per corruption, a (5, n, 48, 48) uint8 array over the source's
    PublicTest rows in order, made on first use and cached under the data's fingerprint."""

    def __init__(self, data: FERData, folder: Path | None = None, stream=None):
        self.data = data
        self.rows = data.indices("PublicTest")
        self.folder = folder or cache_dir() / "fer2013-c" / f"{data.fingerprint.rsplit(':', 1)[-1][:16]}-v{VERSION}"
        self.stream = stream or sys.stderr

    def severities(self, name: str, rows: np.ndarray) -> np.ndarray:
        """(5, len(rows), 48, 48) uint8: the corrupted copies of source rows `rows` (all in PublicTest)."""
        positions = np.searchsorted(self.rows, rows)
        if len(rows) and (positions.max() >= len(self.rows) or not np.array_equal(self.rows[positions], rows)):
            raise ValueError("FER-2013-C is made of PublicTest; some rows asked for are not in it")
        return np.load(self.path(name), mmap_mode="r")[:, positions]

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.npy"

    def ensure(self) -> None:
        """Make the corruptions not cached yet, with a line per corruption and an ETA."""
        missing = [name for name in CORRUPTIONS if not self.path(name).exists()]
        started = time.perf_counter()
        for done, name in enumerate(missing, 1):
            if done == 1:
                print(f"FER-2013-C: making {len(missing)} corruptions x {len(SEVERITIES)} severities of "
                      f"{len(self.rows)} PublicTest images (once, cached in {self.folder})", file=self.stream)
            self._write(name, np.stack([corrupt(self.data.pixels[self.rows], name, s) for s in SEVERITIES]))
            left = (time.perf_counter() - started) / done * (len(missing) - done)
            print(f"FER-2013-C: {name} made ({done}/{len(missing)}, about {format_seconds(left)} left)",
                  file=self.stream, flush=True)

    def _write(self, name: str, array: np.ndarray) -> None:
        # a temp file and a rename: two processes making the same copy leave one whole file
        target = self.path(name)
        tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.npy")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            np.save(tmp, array)
            os.replace(tmp, target)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
