"""A penalty on implausible Km, subtracted from the training reward (``training.km_regulariser``).

Per generated model, over the Km parameters of its environment's kinetic model:

``saturation``
    the fraction of its saturations x / (x + Km) outside ``saturation_range`` (default
    [0.05, 0.95]): enzymes that are fully saturated or linear at the steady state.
``prior``
    the mean of 0.5 z^2, z = (ln Km - ln median) / ln sd of the Km prior (its negative log
    density up to a constant).

The reward of a member per environment becomes incidence + tie_weight * smooth - weight *
(mean penalty of its models); with weight 0 (the default) no regulariser is built and the
reward is exactly the one without it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from kinetigen.kinetics.prior import KmPrior
from kinetigen.schema import config_error
from kinetigen.settings import KmRegulariserSettings, WorkflowSettings

KINDS = ("saturation", "prior")


@dataclass(frozen=True)
class KmRegulariser:
    """Penalty weight, kind, the saturation interval that costs nothing and the prior (for
    kind ``prior``)."""

    weight: float
    kind: str = "saturation"
    saturation_range: tuple[float, float] = (0.05, 0.95)
    prior: KmPrior | None = None

    def __post_init__(self) -> None:
        key = "training.km_regulariser"
        if not self.weight >= 0:
            raise config_error(f"{key}.weight", f"must be >= 0, got {self.weight}")
        if self.kind not in KINDS:
            raise config_error(f"{key}.kind", f"must be one of {KINDS}, got {self.kind!r}")
        low, high = self.saturation_range
        if not 0 < low < high < 1:
            raise config_error(
                f"{key}.saturation_range", f"needs 0 < low < high < 1, got [{low}, {high}]"
            )
        if self.kind == "prior" and self.prior is None:
            raise config_error(f"{key}.kind", "'prior' needs kinetics.km_prior.kind lognormal")

    def model_penalty(self, ln_km: Tensor, ln_x: Tensor) -> Tensor:
        """Penalty per model [..., B] of ln Km [..., B, P] with ln x [B, P] (ln mol/L) of
        each parameter's metabolite at the model's steady state, NaN for the parameters that
        the environment's kinetic model lacks (left out)."""
        present = torch.isfinite(ln_x)
        if self.kind == "saturation":
            saturation = torch.sigmoid(ln_x - ln_km)
            low, high = self.saturation_range
            cost = ((saturation < low) | (saturation > high)).to(ln_km.dtype)
        else:
            cost = 0.5 * self.prior.z(ln_km) ** 2
        cost = torch.where(present, cost, torch.zeros((), dtype=cost.dtype))
        return cost.sum(-1) / present.sum(-1).clamp(min=1)


def km_regulariser(config: WorkflowSettings | Mapping[str, Any]) -> KmRegulariser | None:
    """The regulariser of ``training.km_regulariser`` (None when its weight is 0)."""
    config = WorkflowSettings.coerce(config)
    settings: KmRegulariserSettings = config.training.km_regulariser
    if settings.weight == 0:
        return None
    return KmRegulariser(
        float(settings.weight),
        settings.kind,
        tuple(settings.saturation_range),
        KmPrior.from_settings(config.kinetics.km_prior),
    )
