import os
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def real_data() -> Path:
    value = os.environ.get("FER_BENCH_DATA")
    if not value or not Path(value).exists():
        pytest.skip(f"full FER-2013 not found (FER_BENCH_DATA={value!r})")
    return Path(value)
