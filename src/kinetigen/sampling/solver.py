"""The MILP solver adapter: HiGHS directly for cobra's "hybrid" interface.

:class:`HighsMILP` hands a snapshot of an optlang model's MILP to HiGHS with columns and rows
sorted by name (so the answer does not depend on Python's hash seed), keeps it across
objectives and takes warm starts; :class:`Solution` is what every solve returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cobra
import numpy as np
from optlang.interface import OPTIMAL


@dataclass
class Solution:
    """Status, objective value and variable values (by name; empty unless optimal)."""

    status: str
    objective: float
    values: dict[str, float]

    @property
    def optimal(self) -> bool:
        return self.status == OPTIMAL


def is_highs(model: cobra.Model) -> bool:
    """Whether the model's solver is cobra's "hybrid" interface (HiGHS for LP and MILP)."""
    return model.solver.interface.__name__ == "optlang.hybrid_interface"


class HighsMILP:
    """A snapshot of the model's MILP handed to HiGHS directly.

    Why not through optlang: its hybrid interface keeps variables in a set, so the column
    order (and with it which of several optimal vertices HiGHS returns) changes with
    Python's hash seed from run to run, and it rebuilds the whole matrix for every solve.
    Here columns and rows are sorted by name, the model is passed once, objectives change in
    place, and a known feasible point can seed the MILP search (a warm start).
    """

    def __init__(self, model: cobra.Model) -> None:
        import highspy

        self._highspy = highspy
        model.solver.update()
        source = model.solver.problem
        sparse = source.build()
        column_names = list(source.variables)  # the order build() used
        row_names = list(source.constraints)
        columns = sorted(range(len(column_names)), key=column_names.__getitem__)
        rows = sorted(range(len(row_names)), key=row_names.__getitem__)
        self.names = [column_names[i] for i in columns]
        self.index = {name: i for i, name in enumerate(self.names)}
        configuration = model.solver.configuration
        highs = highspy.Highs()
        highs.setOptionValue("output_flag", False)
        highs.setOptionValue("threads", 1)
        highs.setOptionValue(
            "primal_feasibility_tolerance", float(configuration.tolerances.feasibility)
        )
        highs.setOptionValue(
            "mip_feasibility_tolerance", float(configuration.tolerances.integrality)
        )
        lp = highspy.HighsLp()
        lp.num_col_ = len(columns)
        lp.num_row_ = len(rows)
        lp.col_cost_ = np.zeros(len(columns))
        lp.col_lower_ = sparse.vbounds[columns, 0]
        lp.col_upper_ = sparse.vbounds[columns, 1]
        if rows:
            matrix = sparse.A[rows][:, columns].tocsc()
            matrix.sort_indices()  # entry order within a column would follow the set order
            lp.a_matrix_.start_ = matrix.indptr
            lp.a_matrix_.index_ = matrix.indices
            lp.a_matrix_.value_ = matrix.data
            lp.row_lower_ = sparse.bounds[rows, 0]
            lp.row_upper_ = sparse.bounds[rows, 1]
        integer = np.asarray(sparse.integer)[columns].astype(bool)
        if integer.any():
            lp.integrality_ = [
                highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
                for flag in integer
            ]
        highs.passModel(lp)
        self.highs = highs
        self._cost: dict[int, float] = {}

    def solve_array(
        self,
        coefficients: Mapping[int, float],
        direction: str,
        start: np.ndarray | None = None,
    ) -> tuple[str, float, np.ndarray | None]:
        """Optimise sum(coefficients[i] x_i); returns status, objective and x (sorted names)."""
        highs, highspy = self.highs, self._highspy
        for i in self._cost:
            highs.changeColCost(i, 0.0)
        for i, value in coefficients.items():
            highs.changeColCost(i, float(value))
        self._cost = dict(coefficients)
        highs.changeObjectiveSense(
            highspy.ObjSense.kMaximize if direction == "max" else highspy.ObjSense.kMinimize
        )
        if start is not None:
            seed = highspy.HighsSolution()
            seed.col_value = list(start)
            seed.value_valid = True
            highs.setSolution(seed)
        highs.run()
        status = highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            text = highs.modelStatusToString(status).lower()
            return ("infeasible" if "infeasible" in text else text), math.nan, None
        values = np.asarray(highs.getSolution().col_value, dtype=float)
        return OPTIMAL, float(highs.getInfo().objective_function_value), values

    def optimize(self, coefficients: Mapping[Any, float], direction: str) -> Solution:
        """Optimise over optlang variables; values come back by variable name."""
        status, objective, values = self.solve_array(
            {self.index[variable.name]: value for variable, value in coefficients.items()},
            direction,
        )
        if values is None:
            return Solution(status, objective, {})
        return Solution(status, objective, dict(zip(self.names, values.tolist(), strict=True)))
