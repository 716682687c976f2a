"""Time to target (training.stop_at_val_accuracy, records' `time_to_target`): each seed's row, and per variant
how many seeds reached the target, how soon (median and range of the seconds since the process started,
counted as if each trial ran alone) and the accuracy at the end, on the machine named."""

import statistics


def target_rows(records: list[dict]) -> list[dict]:
    empty = dict.fromkeys(("epoch", "epochs", "since_process_start_s", "public_test_accuracy",
                           "private_test_accuracy"))
    return [{"variant": r["variant"], "seed": r["seed"], **empty, **r["time_to_target"]}
            for r in records if r.get("time_to_target")]


def target_summary(records: list[dict]) -> list[dict]:
    """Per variant with a target: seeds, seeds that reached it, seconds and epochs to it (median, min, max
    over those that did), the final weights' validation accuracy (the target's epoch where training stopped
    there) and PublicTest/PrivateTest at the target (means), and the machine."""
    by_variant: dict[str, list[dict]] = {}
    for record in records:
        if record.get("time_to_target"):
            by_variant.setdefault(record["variant"], []).append(record)
    rows = []
    for variant, group in by_variant.items():
        hits = [r["time_to_target"] for r in group if r["time_to_target"]["reached"]]
        seconds = [hit["since_process_start_s"] for hit in hits]
        rows.append({
            "variant": variant, "n": len(group), "reached": len(hits), "target": group[0]["time_to_target"]["target"],
            "seconds": statistics.median(seconds) if seconds else None,
            "seconds_min": min(seconds, default=None), "seconds_max": max(seconds, default=None),
            "epoch": statistics.median(hit["epoch"] for hit in hits) if hits else None,
            "val_accuracy": _mean(r.get("metrics", {}).get("val_accuracy") for r in group),
            "public_test_accuracy": _mean(hit.get("public_test_accuracy") for hit in hits),
            "private_test_accuracy": _mean(hit.get("private_test_accuracy") for hit in hits),
            "machine": ", ".join(sorted({machine(r) for r in group})),
        })
    return rows


def machine(record: dict) -> str:
    """"AMD EPYC (2 cores), tensorflow, mixed_bfloat16": what a time is a time on."""
    environment = record.get("environment", {})
    device = environment.get("device", {})
    name = device.get("name") or device.get("kind") or "unknown device"
    if device.get("kind") == "cpu" and device.get("count"):
        name += f" ({device['count']} cores)"
    chosen = (record.get("precision") or {}).get("chosen") or "float32"
    return f"{name}, {environment.get('backend', '?')}, {chosen}"


def _mean(values) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None
