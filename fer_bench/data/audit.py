"""Duplicates, leakage across splits, label conflicts and blank images in FER-2013.

Distance: the root-mean-square difference of two 48x48 images in grey levels. Two images are
copies when it is at most THRESHOLD_RMS (5 grey levels: on the full set, nearest test-to-Training
distances fall into an empty gap between 5 and 6; re-encoded copies sit below 5, different faces
well above 10). An image is blank when its pixels' standard deviation is under BLANK_STD.

All pairs are found with matrix products, first on 8x8 block means (a block-mean distance is
never larger than the full one, so no pair is missed), each pair once (j > i), then checked at full
resolution: on the full set 3,319 candidates for 2,613 pairs, in 3 s on this 2-core CPU where 16x16
means over every ordered pair took 13 s.
"""

import contextlib
import json
import time

import numpy as np

from fer_bench.data.formats import EMOTIONS, USAGES, FERData
from fer_bench.errors import WriteError
from fer_bench.faults import fault_point
from fer_bench.storage import cache_dir, write_json_atomic

AUDIT_VERSION = 1
THRESHOLD_RMS = 5.0
BLANK_STD = 3.0
_BLOCK = 6  # 48 = 8 blocks of 6 pixels
_CHUNK = 2048


def near_pairs(pixels: np.ndarray, threshold: float = THRESHOLD_RMS) -> np.ndarray:
    """Rows (i, j, rms) with i < j and rms <= threshold, as a float array of shape (k, 3)."""
    n = len(pixels)
    side = 48 // _BLOCK
    small = pixels.reshape(n, side, _BLOCK, side, _BLOCK).astype(np.float32).mean(axis=(2, 4)).reshape(n, -1)
    norms = np.einsum("ij,ij->i", small, small)
    limit = (threshold + 0.5) ** 2 * small.shape[1]  # slack for float32 rounding; checked exactly below
    found = []
    for start in range(0, n, _CHUNK):
        end = min(start + _CHUNK, n)
        squared = small[start:end] @ small[start:].T  # against the rows from `start` on: each pair once
        squared *= -2.0
        squared += norms[start:end, None]
        squared += norms[None, start:]
        i, j = np.nonzero(squared <= limit)
        i += start
        j += start
        keep = j > i
        found.append(np.stack([i[keep], j[keep]], axis=1))
    candidates = np.concatenate(found) if found else np.zeros((0, 2), int)
    flat = pixels.reshape(n, -1)
    difference = flat[candidates[:, 0]].astype(np.float32) - flat[candidates[:, 1]].astype(np.float32)
    rms = np.sqrt(np.mean(np.square(difference), axis=1))
    close = rms <= threshold
    return np.column_stack([candidates[close], rms[close]])


def groups_of(n: int, pairs: np.ndarray) -> list[list[int]]:
    """Connected groups (size >= 2) of the copy relation, by union-find."""
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for i, j in pairs[:, :2].astype(int):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    members: dict[int, list[int]] = {}
    for i in np.unique(pairs[:, :2].astype(int)):
        members.setdefault(root(int(i)), []).append(int(i))
    return sorted(members.values())


def run_audit(data: FERData) -> dict:
    started = time.time()
    pairs = near_pairs(data.pixels)
    blank = np.flatnonzero(data.pixels.reshape(len(data.pixels), -1).std(axis=1) < BLANK_STD)
    groups = groups_of(len(data.pixels), pairs)
    return {
        "audit_version": AUDIT_VERSION,
        "fingerprint": data.fingerprint,
        "distance": "root-mean-square difference in grey levels (0-255) over the 48x48 pixels",
        "threshold_rms": THRESHOLD_RMS,
        "blank_std": BLANK_STD,
        "pairs": [[int(i), int(j), round(float(r), 3)] for i, j, r in pairs],
        "groups": groups,
        "blank": blank.tolist(),
        "seconds": round(time.time() - started, 2),
    }


def load_audit(data: FERData) -> dict:
    """The audit of these images, from the cache when it was made before."""
    path = cache_dir() / f"audit-{data.fingerprint.split(':')[-1]}-v{AUDIT_VERSION}.json"
    try:
        audit = json.loads(path.read_text())
        if audit.get("fingerprint") == data.fingerprint:
            return {**audit, "from_cache": True}
    except (OSError, ValueError):
        pass
    audit = run_audit(data)
    with contextlib.suppress(WriteError):  # an unwritable cache only means the audit is redone
        write_json_atomic(path, audit, before_rename=lambda: fault_point("audit"))
    return {**audit, "from_cache": False}


def copies_among(audit: dict, rows: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """For each of `rows`, whether it has a copy (other than itself) among `pool`."""
    pool_set = set(pool.tolist())
    partners: dict[int, set[int]] = {}
    for i, j, _ in audit["pairs"]:
        partners.setdefault(i, set()).add(j)
        partners.setdefault(j, set()).add(i)
    return np.array([bool(partners.get(int(r), set()) & pool_set) for r in rows], dtype=bool)


def summarize(audit: dict, data: FERData, train: np.ndarray | None = None,
              validation: np.ndarray | None = None) -> dict:
    """Counts a reader (or a record) needs: copies within and across splits, conflicts, blanks."""
    usage = data.usage
    pairs = np.array(audit["pairs"], dtype=float).reshape(-1, 3)
    training = data.indices("Training")
    summary = {
        "threshold_rms": audit["threshold_rms"],
        "exact_pairs": int(np.sum(pairs[:, 2] == 0)),
        "near_pairs": int(np.sum(pairs[:, 2] > 0)),
        "groups": len(audit["groups"]),
        "groups_across_splits": sum(len({int(usage[i]) for i in g}) > 1 for g in audit["groups"]),
        "conflicting_label_groups": len(conflicts(audit, data)),
        "blank_images": {u: int(np.sum(usage[audit["blank"]] == k)) for k, u in enumerate(USAGES)}
        if audit["blank"] else {u: 0 for u in USAGES},
    }
    for usage_name in ("PublicTest", "PrivateTest"):
        rows = data.indices(usage_name)
        entry = {"n": int(len(rows)), "with_copy_in_training": int(copies_among(audit, rows, training).sum())}
        if train is not None:
            entry["with_copy_in_train_split"] = int(copies_among(audit, rows, train).sum())
        if validation is not None:
            entry["with_copy_in_validation_split"] = int(copies_among(audit, rows, validation).sum())
        summary[usage_name] = entry
    if train is not None and validation is not None:
        summary["validation"] = {"n": int(len(validation)),
                                 "with_copy_in_train_split": int(copies_among(audit, validation, train).sum())}
    return summary


def conflicts(audit: dict, data: FERData) -> list[dict]:
    """Copy groups whose images carry different emotions."""
    found = []
    for group in audit["groups"]:
        labels = {int(data.labels[i]) for i in group}
        if len(labels) > 1:
            found.append({"rows": group, "labels": [EMOTIONS[int(data.labels[i])] for i in group],
                          "usages": [USAGES[int(data.usage[i])] for i in group]})
    return found
