"""What every spec section shares: strict models (unknown keys refused) and safe names."""

import re

from pydantic import BaseModel, ConfigDict

MAX_TRIALS = 10_000  # per spec: a week of small-CNN trials on a GPU; more is a typo or a search
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(value: str) -> str:
    """A spec's (or a record's) name: safe as a folder name, so it cannot escape the results folder."""
    if not _NAME.match(value) or ".." in value:
        raise ValueError("must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
