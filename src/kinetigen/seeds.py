"""Per-task seeds derived from the one seed in config.yaml."""

from __future__ import annotations

import hashlib


def derive_seed(seed: int, *labels: object) -> int:
    """A 31-bit seed for the task named by ``labels`` (e.g. an environment).

    Stable across processes and Python versions (unlike ``hash``), and different tasks get
    independent streams, so rerunning one environment never shifts another's numbers.
    """
    text = ":".join([str(seed), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFFFFFF
