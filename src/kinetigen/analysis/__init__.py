"""What the models are for: metabolic control analysis and enzyme perturbation studies.

- :mod:`kinetigen.analysis.control`: batched scaled control coefficients C^J and C^x with
  respect to enzyme levels (Vmax), from the reduced Jacobian's elasticities and moieties;
- :mod:`kinetigen.analysis.steady`: steady states of the nonlinear model (root solver,
  stiff integration to settling);
- :mod:`kinetigen.analysis.perturbations`: enzyme-level changes simulated to the new steady
  state, beside the linear (MCA) prediction;
- :mod:`kinetigen.analysis.stage`: what the workflow rules call.
"""

from kinetigen.analysis.control import (
    STATUS_LABELS,
    ControlAnalysis,
    ControlCoefficients,
    combined_flux_control,
    control_coefficients_single,
)

__all__ = [
    "STATUS_LABELS",
    "ControlAnalysis",
    "ControlCoefficients",
    "combined_flux_control",
    "control_coefficients_single",
]
