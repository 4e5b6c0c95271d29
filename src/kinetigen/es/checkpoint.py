"""Checkpoints of a training run: the optimiser, the history so far and the global RNG states.

A checkpoint is written atomically and holds plain tensors and containers only, so that it
loads with ``torch.load(weights_only=True)``. :func:`config_hash` names the configuration a
checkpoint belongs to: a run resumes only from a checkpoint of its own method and hash.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

import numpy as np
import torch

from kinetigen.es.base import EvolutionStrategy
from kinetigen.io import atomic_path

CHECKPOINT_FORMAT = 1


def config_hash(config: Any) -> str:
    """Short stable hash of a JSON-serialisable configuration (to match checkpoints)."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _numpy_state_to_tensors(state: tuple) -> dict[str, Any]:
    kind, keys, position, has_gauss, cached = state
    return {
        "kind": kind,
        "keys": torch.as_tensor(np.asarray(keys, dtype=np.int64)),
        "position": int(position),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _numpy_state_from_tensors(state: dict[str, Any]) -> tuple:
    return (
        state["kind"],
        state["keys"].numpy().astype(np.uint32),
        state["position"],
        state["has_gauss"],
        state["cached_gaussian"],
    )


def save_checkpoint(
    path: str | os.PathLike,
    optimizer: EvolutionStrategy,
    history: list[dict[str, Any]],
    model_evaluations: int,
    wall_seconds: float,
    config_hash_value: str,
) -> None:
    """Atomically write the full training state (see :func:`load_checkpoint`)."""
    payload = {
        "format": CHECKPOINT_FORMAT,
        "config_hash": config_hash_value,
        "method": optimizer.name,
        "generation": optimizer.generation,
        "model_evaluations": int(model_evaluations),
        "wall_seconds": float(wall_seconds),
        "weights": optimizer.centre(),
        "optimizer": optimizer.state_dict(),
        "history": history,
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": _numpy_state_to_tensors(np.random.get_state()),
        },
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (plain tensors and containers)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: unknown checkpoint format {payload.get('format')!r}")
    return payload


def restore_global_rng(payload: dict[str, Any]) -> None:
    """Set torch's and numpy's global generators to the states a checkpoint saved."""
    torch.set_rng_state(payload["rng"]["torch"])
    np.random.set_state(_numpy_state_from_tensors(payload["rng"]["numpy"]))
