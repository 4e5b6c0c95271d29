"""Column names of the steady-state tables (and the variability table's variables).

A column is ``<kind>:<id>``: ``flux:<reaction>`` (net flux, mmol/gDW/h), ``lnc:<metabolite>``
(ln of the concentration in mol/L), ``dg0:<reaction>`` and ``dg:<reaction>`` (kJ/mol) and
``m:<axis>`` (coordinates of dG'0 along the principal axes of its uncertainty). Every module
that writes or reads such columns builds and parses them here.
"""

from __future__ import annotations

from collections.abc import Iterable

FLUX = "flux"
LNC = "lnc"
DG0 = "dg0"
DG = "dg"
UNCERTAINTY = "m"
SEPARATOR = ":"

FLUX_PREFIX = FLUX + SEPARATOR
LNC_PREFIX = LNC + SEPARATOR
DG0_PREFIX = DG0 + SEPARATOR
DG_PREFIX = DG + SEPARATOR
UNCERTAINTY_PREFIX = UNCERTAINTY + SEPARATOR


def column(kind: str, identifier: str) -> str:
    """The column of ``identifier`` in block ``kind``: ``column(FLUX, "PGI") == "flux:PGI"``."""
    return f"{kind}{SEPARATOR}{identifier}"


def columns(kind: str, identifiers: Iterable[str]) -> list[str]:
    """The columns of ``identifiers`` in block ``kind``, in their order."""
    return [column(kind, identifier) for identifier in identifiers]


def split_column(name: str) -> tuple[str, str]:
    """(kind, id) of a column: ``"lnc:g6p_c"`` -> ``("lnc", "g6p_c")``."""
    kind, _, identifier = name.partition(SEPARATOR)
    return kind, identifier
