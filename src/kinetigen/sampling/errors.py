"""The errors of the thermodynamic stage (imported by every sampling module, importing none)."""

from __future__ import annotations

import pandas as pd


class InfeasibleTFA(ValueError):
    """TFA cannot grow in an environment; ``report`` holds the smallest relaxation.

    Attributes
    ----------
    environment : str
        The environment's name.
    report : pandas.DataFrame or None
        Columns kind (dg0 | lnc_lower | lnc_upper), id, relaxation (>= 0), unit (kJ/mol or
        ln(mol/L)), original and relaxed value of the dG'0 mean or ln c bound.
    """

    def __init__(
        self, environment: str, detail: str, report: pd.DataFrame | None = None
    ) -> None:
        self.environment = environment
        self.report = report
        message = f"environment {environment!r}: TFA is thermodynamically infeasible ({detail})"
        if report is not None and len(report):
            listed = "; ".join(
                f"{row.kind} {row.id}: {row.original:.4g} -> {row.relaxed:.4g} {row.unit}"
                + (f" (unblocks {row.reactions})" if getattr(row, "reactions", "") else "")
                for row in report.head(10).itertuples()
            )
            message += f". Smallest relaxation restoring growth ({len(report)} changes): {listed}"
        elif report is not None:
            message += ". No relaxation of dG'0 or concentrations restores growth"
        super().__init__(message)


class SteadyStateViolation(ValueError):
    """A sample breaks a steady-state condition; ``violations`` lists all breaches."""

    def __init__(self, env_name: str, violations: pd.DataFrame) -> None:
        self.environment = env_name
        self.violations = violations
        shown = "; ".join(
            f"sample {row.sample}: {row.check} of {row.id} is {row.value:.6g} "
            f"(limit {row.limit:.6g})"
            for row in violations.head(5).itertuples()
        )
        n_samples = violations["sample"].nunique()
        super().__init__(
            f"environment {env_name!r}: {len(violations)} steady-state violation(s) in "
            f"{n_samples} sample(s): {shown}"
        )
