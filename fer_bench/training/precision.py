"""training.mixed_precision: auto chooses the policy the device computes natively, and says why.

bfloat16 halves the bytes every layer moves; it pays where the hardware multiplies it natively: CPUs
with AMX-BF16 or AVX512_BF16 (through oneDNN, TensorFlow's CPU kernels), NVIDIA GPUs of compute
capability 8.0 (Ampere) or later. Elsewhere it is emulated and slower, so auto keeps float32.
"""

from functools import lru_cache
from pathlib import Path

FLOAT32 = "float32"
BFLOAT16 = "mixed_bfloat16"
# In the order a reason names them: AMX's tiles do the most bfloat16 work per cycle.
CPU_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
FIRST_BF16_GPU = (8, 0)
# XLA's CPU compiler (JAX) lowers bfloat16 convolutions to converts around float32 kernels: slower than
# float32 on this CPU, measured in docs/performance.md#bfloat16-on-a-cpu, so auto keeps float32 there.
CPU_BACKENDS_USING_THE_FLAGS = ("tensorflow",)


@lru_cache(maxsize=1)
def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> frozenset[str]:
    """The CPU's feature flags as the kernel reports them; empty where there is no /proc/cpuinfo."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def choose(asked: str | None, backend: str, device: dict, flags: frozenset[str] | None = None) -> dict:
    """What a trial trains in: {asked, chosen, reason, decided_by}. `device` is the record's
    environment.device (kind, name, and compute_capability on a GPU); `flags` default to this CPU's."""
    if asked != "auto":
        policy = asked or FLOAT32
        return {"asked": policy, "chosen": policy, "reason": "as asked", "decided_by": None}
    if device.get("kind") == "gpu":
        return _on_gpu(device)
    native = [flag for flag in CPU_BF16_FLAGS if flag in (cpu_flags() if flags is None else flags)]
    if not native:
        return {"asked": "auto", "chosen": FLOAT32, "decided_by": None,
                "reason": f"the CPU has neither {' nor '.join(CPU_BF16_FLAGS)}: bfloat16 would be emulated"}
    if backend not in CPU_BACKENDS_USING_THE_FLAGS:
        return {"asked": "auto", "chosen": FLOAT32, "decided_by": native[0],
                "reason": f"the CPU has {native[0]}, but {backend} on a CPU does not use it: "
                          f"bfloat16 measured slower than float32 there"}
    return {"asked": "auto", "chosen": BFLOAT16, "decided_by": native[0],
            "reason": f"the CPU computes bfloat16 natively ({', '.join(native)})"}


def _on_gpu(device: dict) -> dict:
    capability = device.get("compute_capability")
    name = device.get("name", "the GPU")
    if not capability:
        return {"asked": "auto", "chosen": FLOAT32, "decided_by": name,
                "reason": f"{name}: compute capability unknown, so float32"}
    major, minor = (int(part) for part in str(capability).split(".")[:2])
    if (major, minor) >= FIRST_BF16_GPU:
        return {"asked": "auto", "chosen": BFLOAT16, "decided_by": f"{name}, compute capability {capability}",
                "reason": f"{name} computes bfloat16 natively (compute capability {capability}, 8.0 or later)"}
    return {"asked": "auto", "chosen": FLOAT32, "decided_by": f"{name}, compute capability {capability}",
            "reason": f"{name} has compute capability {capability}: bfloat16 needs 8.0 or later"}
