"""Condition featurisation: a steady state -> a short vector that the generator is conditioned on.

Recipe (fixed and documented so that held-out environments are encoded the same way):

1. Take the columns of the steady-state table whose names start with the chosen prefixes
   (default ``flux:`` and ``lnc:``: net fluxes in mmol/gDW/h and ln concentrations in ln mol/L),
   as found in the *training* samples; a column is kept only if it is finite in at least one
   training sample.
2. Standardise each column with the training mean and standard deviation (columns that are
   constant in training get scale 1, so they encode to 0 and cannot blow up).
3. Project onto the first ``n_components`` principal components of the standardised training
   matrix (PCA by SVD, training samples only), each component's sign fixed so that its largest
   loading is positive; optionally whiten (divide by the component's standard deviation) so the
   features have unit variance over the training samples.

Encoding a new table: training columns that are missing (e.g. a reaction inactive in that
environment, hence absent from its table) or NaN are filled by the training mean, i.e. they
contribute 0 after standardisation. Columns the training data did not have are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from kinetigen.schema import config_error, schema_defaults

logger = logging.getLogger(__name__)



class ConditionEncoder:
    """Standardise + PCA encoder of steady states, fitted on the training samples only.

    Parameters
    ----------
    n_components
        Output dimension C (config ``generator.condition_dim``).
    prefixes
        Column-name prefixes selecting the features.
    whiten
        Divide each component by its training standard deviation.
    """

    def __init__(
        self,
        n_components: int,
        prefixes: Sequence[str] | None = None,
        whiten: bool = True,
    ) -> None:
        if n_components < 1:
            raise config_error(
                "generator.condition_dim", f"must be >= 1 to fit an encoder, got {n_components}"
            )
        self.n_components = int(n_components)
        if prefixes is None:  # config generator.condition_features: the schema's default
            prefixes = schema_defaults("generator.condition_features")
        self.prefixes = tuple(prefixes)
        self.whiten = bool(whiten)
        self.columns: list[str] = []
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.components: np.ndarray | None = None  # [C, n_columns]
        self.component_std: np.ndarray | None = None  # [C]
        self.explained_variance_ratio: np.ndarray | None = None

    @property
    def is_fitted(self) -> bool:
        return self.components is not None

    def fit(self, steady_states: pd.DataFrame) -> ConditionEncoder:
        """Fit standardisation and PCA on the training steady states (one row per sample)."""
        columns = [
            name
            for name in steady_states.columns
            if isinstance(name, str) and name.startswith(self.prefixes)
        ]
        if not columns:
            raise ValueError(
                f"steady-state table has no columns starting with {self.prefixes}; "
                f"first columns are {list(steady_states.columns)[:5]}"
            )
        values = steady_states[columns].to_numpy(dtype=np.float64)
        finite_somewhere = np.isfinite(values).any(axis=0)
        columns = [name for name, keep in zip(columns, finite_somewhere, strict=True) if keep]
        values = values[:, finite_somewhere]
        n_samples, n_columns = values.shape
        limit = min(n_samples, n_columns)
        if self.n_components > limit:
            raise config_error(
                "generator.condition_dim",
                f"{self.n_components} exceeds what {n_samples} training samples x "
                f"{n_columns} features support ({limit})",
            )
        mean = np.nanmean(values, axis=0)
        values = np.where(np.isfinite(values), values, mean)
        std = values.std(axis=0)
        scale = np.where(std > 1e-12 * np.maximum(1.0, np.abs(mean)), std, 1.0)
        standardised = (values - mean) / scale
        _, singular, vt = np.linalg.svd(standardised, full_matrices=False)
        components = vt[: self.n_components]
        # SVD signs are arbitrary; fix them so that refits on the same data agree.
        largest = np.argmax(np.abs(components), axis=1)
        signs = np.sign(components[np.arange(len(components)), largest])
        components = components * signs[:, None]
        variance = singular**2 / max(n_samples - 1, 1)
        component_std = np.sqrt(variance[: self.n_components])
        component_std = np.where(component_std > 1e-12, component_std, 1.0)

        self.columns = columns
        self.mean = mean
        self.scale = scale
        self.components = components
        self.component_std = component_std
        total = variance.sum()
        self.explained_variance_ratio = (
            variance[: self.n_components] / total if total > 0 else np.zeros(self.n_components)
        )
        logger.info(
            "condition encoder: %d samples, %d features -> %d components (%.1f%% variance)",
            n_samples,
            n_columns,
            self.n_components,
            100.0 * float(self.explained_variance_ratio.sum()),
        )
        return self

    def transform(self, steady_states: pd.DataFrame) -> np.ndarray:
        """Encode a steady-state table into condition vectors [n_rows, C]."""
        if not self.is_fitted:
            raise RuntimeError("ConditionEncoder.transform called before fit")
        missing = [name for name in self.columns if name not in steady_states.columns]
        if missing:
            logger.info(
                "condition encoder: %d training feature(s) absent, filled with the training "
                "mean (first: %s)",
                len(missing),
                missing[:3],
            )
        frame = steady_states.reindex(columns=self.columns)
        values = frame.to_numpy(dtype=np.float64)
        values = np.where(np.isfinite(values), values, self.mean)
        standardised = (values - self.mean) / self.scale
        projected = standardised @ self.components.T
        if self.whiten:
            projected = projected / self.component_std
        return projected

    def transform_tensor(
        self, steady_states: pd.DataFrame, dtype: torch.dtype = torch.float64
    ) -> Tensor:
        """:meth:`transform` as a torch tensor."""
        return torch.as_tensor(self.transform(steady_states), dtype=dtype)

    def fit_transform(self, steady_states: pd.DataFrame) -> np.ndarray:
        return self.fit(steady_states).transform(steady_states)

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors, lists and numbers: loads with ``torch.load(weights_only=True)``."""
        if not self.is_fitted:
            raise RuntimeError("ConditionEncoder.state_dict called before fit")
        return {
            "n_components": self.n_components,
            "prefixes": list(self.prefixes),
            "whiten": self.whiten,
            "columns": list(self.columns),
            "mean": torch.from_numpy(self.mean.copy()),
            "scale": torch.from_numpy(self.scale.copy()),
            "components": torch.from_numpy(self.components.copy()),
            "component_std": torch.from_numpy(self.component_std.copy()),
            "explained_variance_ratio": torch.from_numpy(self.explained_variance_ratio.copy()),
        }

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> ConditionEncoder:
        encoder = cls(state["n_components"], state["prefixes"], state["whiten"])
        encoder.columns = list(state["columns"])
        for key in ("mean", "scale", "components", "component_std", "explained_variance_ratio"):
            setattr(encoder, key, torch.as_tensor(state[key]).numpy().astype(np.float64))
        return encoder
