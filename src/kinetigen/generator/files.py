"""generator.pt: a trained generator with its condition encoder, readable without pickle."""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor

from kinetigen.generator.conditions import ConditionEncoder
from kinetigen.generator.model import Generator, load_flat_parameters
from kinetigen.io import atomic_path

FORMAT_VERSION = 1


def save_generator(
    path: str | os.PathLike,
    generator: Generator,
    weights: Tensor | None = None,
    encoder: ConditionEncoder | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``generator`` (with flat ``weights`` loaded, if given) atomically to ``path``.

    ``metadata`` (method, seed, environments, config hash, ...) must hold only tensors, numbers,
    strings, lists and dicts so that the file loads with ``torch.load(weights_only=True)``.
    """
    if weights is not None:
        load_flat_parameters(generator, weights)
    payload = {
        "format_version": FORMAT_VERSION,
        "architecture": generator.architecture(),
        "state_dict": {
            key: value.detach().clone() for key, value in generator.state_dict().items()
        },
        "encoder": encoder.state_dict() if encoder is not None else None,
        "metadata": metadata or {},
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_generator(
    path: str | os.PathLike,
) -> tuple[Generator, ConditionEncoder | None, dict[str, Any]]:
    """Read a file written by :func:`save_generator`: (generator, encoder or None, metadata)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unknown generator file format {payload.get('format_version')}")
    generator = Generator.from_architecture(payload["architecture"])
    generator.load_state_dict(payload["state_dict"])
    encoder = payload["encoder"]
    encoder = ConditionEncoder.from_state_dict(encoder) if encoder is not None else None
    return generator, encoder, payload["metadata"]
