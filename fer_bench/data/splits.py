"""The study's protocol: Training split 70/30 (stratified, own seed); the test splits only for scoring."""

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from fer_bench.data.formats import EMOTIONS, USAGES, FERData
from fer_bench.errors import UserError

EVAL_SPLITS = ("validation", "public_test", "private_test")


@dataclass
class Split:
    """One split's rows as indices into the source's arrays."""

    name: str
    indices: np.ndarray

    def x(self, data: FERData) -> np.ndarray:
        return (data.pixels[self.indices].astype(np.float32) / 255.0)[..., None]

    def y(self, data: FERData) -> np.ndarray:
        return data.labels[self.indices].astype(np.int64)


def study_splits(
    data: FERData,
    split_seed: int,
    validation_fraction: float = 0.3,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    drop_from_training: np.ndarray | None = None,
    protocol: str = "study",
) -> dict[str, Split]:
    """train/validation from Training, public_test/private_test as given; subsets stratified.

    Rows are put in a content order before splitting, so the same images give the same split
    whether they came from a CSV, a gzip file or a folder tree, in any row order.
    `drop_from_training` rows (e.g. copies of test images) are removed before the split.
    With protocol `full-train`, train is all of Training and validation is PrivateTest.
    """
    training = data.indices("Training")
    if drop_from_training is not None and len(drop_from_training):
        training = np.setdiff1d(training, drop_from_training)
    training = _canonical(data, training)
    if protocol == "full-train":
        private = _subset(data, data.indices("PrivateTest"), max_eval_samples, split_seed)
        return {"train": Split("train", _subset(data, np.sort(training), max_train_samples, split_seed)),
                "validation": Split("validation", private),
                "public_test": Split("public_test", _subset(data, data.indices("PublicTest"), max_eval_samples,
                                                            split_seed)),
                "private_test": Split("private_test", private)}
    try:
        train, validation = train_test_split(
            training, test_size=validation_fraction, stratify=data.labels[training], random_state=split_seed
        )
    except ValueError:  # too few images of some class to stratify: a plain random split, as _subset does
        try:
            train, validation = train_test_split(training, test_size=validation_fraction, random_state=split_seed)
        except ValueError:
            raise UserError(f"{data.path}: {len(training)} Training images cannot be split into train and "
                            f"validation ({validation_fraction:g} of them for validation)") from None
    splits = {
        "train": _subset(data, np.sort(train), max_train_samples, split_seed),
        "validation": _subset(data, np.sort(validation), max_eval_samples, split_seed),
        "public_test": _subset(data, data.indices("PublicTest"), max_eval_samples, split_seed),
        "private_test": _subset(data, data.indices("PrivateTest"), max_eval_samples, split_seed),
    }
    return {name: Split(name, idx) for name, idx in splits.items()}


def _canonical(data: FERData, indices: np.ndarray) -> np.ndarray:
    return indices[np.argsort(data.digests[indices], kind="stable")]


def _subset(data: FERData, indices: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    if limit is None or limit >= len(indices):
        return indices
    ordered = _canonical(data, indices)
    try:
        chosen, _ = train_test_split(ordered, train_size=limit, stratify=data.labels[ordered], random_state=seed)
    except ValueError:  # too few images for every class to appear: plain random subset
        chosen, _ = train_test_split(ordered, train_size=limit, random_state=seed)
    return np.sort(chosen)


def class_counts(labels: np.ndarray) -> list[int]:
    return np.bincount(labels, minlength=len(EMOTIONS)).astype(int).tolist()


def describe_splits(data: FERData, splits: dict[str, Split] | None = None) -> dict:
    """Images and class counts per source usage and, when given, per study split."""
    out = {}
    for usage in USAGES:
        idx = data.indices(usage)
        out[usage] = _split_summary(data, idx)
    for name, split in (splits or {}).items():
        out[name] = _split_summary(data, split.indices)
    return out


def _split_summary(data: FERData, idx: np.ndarray) -> dict:
    pixels = data.pixels[idx]
    return {
        "n": int(len(idx)),
        "class_counts": class_counts(data.labels[idx]),
        "pixel_mean": round(float(pixels.mean()), 2) if len(idx) else None,
        "pixel_std": round(float(pixels.std()), 2) if len(idx) else None,
        "sharpness": round(_sharpness(pixels), 2) if len(idx) else None,
    }


def _sharpness(pixels: np.ndarray) -> float:
    """Mean absolute difference of horizontally adjacent pixels: low for blurred copies."""
    return float(np.abs(np.diff(pixels.astype(np.int16), axis=2)).mean())


def sanity_warnings(summary: dict) -> list[str]:
    """Warnings when one source split looks unlike the others (e.g. a blurred, low-contrast copy)."""
    warnings = []
    present = [u for u in USAGES if summary[u]["n"]]
    for key, what in (("pixel_std", "contrast (pixel std)"), ("sharpness", "sharpness")):
        typical = float(np.median([summary[u][key] for u in present]))
        for usage in present:
            value = summary[usage][key]
            if typical and abs(value - typical) / typical > 0.2:
                warnings.append(
                    f"{usage} looks different from the other splits: {what} {value:.1f} vs {typical:.1f}; "
                    "a blurred or re-encoded copy of FER-2013 costs many points of test accuracy"
                )
    typical_mean = float(np.median([summary[u]["pixel_mean"] for u in present]))
    for usage in present:
        if abs(summary[usage]["pixel_mean"] - typical_mean) > 15:
            warnings.append(f"{usage} looks different from the other splits: mean grey level "
                            f"{summary[usage]['pixel_mean']:.0f} vs {typical_mean:.0f}")
    return warnings
