"""Environment families: one config entry that expands into many ordinary environments.

A family (config key ``environment_families``) copies a ``base`` environment and varies it in
exactly one way:

``grid``
    exchange reaction id -> list of uptake rates (mmol/gDW/h, >= 0); one member per point of
    the Cartesian product (several carbon sources in one grid give their mixtures). A member
    sets each reaction's lower bound to minus its uptake rate and keeps the base's upper bound
    (1000 where the base sets none).
``draw``
    ``n`` points drawn uniformly (seeded, ``seed``) from ``ranges`` (exchange reaction id ->
    [low, high] uptake rate), rounded to ``decimals``; otherwise as ``grid``.
``knockouts``
    reaction ids (or lists of ids for multiple knockouts); each member bounds them to [0, 0].

Members are named ``<family>__<part>_<part>``: a grid or draw point gives one part per
reaction, its short name (``EX_glc__D_e`` -> ``glc``) and its uptake rate (``.`` written as
``p``; an ``x`` between a short name that ends in a digit and the number), so
``glc_o2__glc7p5_o2x10`` is glucose uptake 7.5 and oxygen uptake 10; a knockout gives
``<family>__ko_PGI``. Everything downstream sees members as environments; a family's name in
``run_environments``, ``training.environments``, ``training.heldout`` or
``training.adaptation.environments`` stands for its members.

:func:`expand_families` is pure (no model, no config mutation); :func:`apply_families` writes
its result into a config (as :func:`kinetigen.config.validate_config` does, before any rule)
and is idempotent; :func:`check_families_against_model` checks the ids a family names.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cobra
import numpy as np

from kinetigen.schema import config_error

KEY = "environment_families"
KINDS = ("grid", "draw", "knockouts")
DEFAULT_UPPER = 1000.0
ENTRY_KEYS = ("reaction_bounds", "concentrations", "measured_fluxes")
# Config lists in which a family's name stands for its members.
NAME_LISTS = (
    ("run_environments",),
    ("training", "environments"),
    ("training", "heldout"),
    ("training", "adaptation", "environments"),
)


def short_name(reaction_id: str) -> str:
    """A reaction's part of a member name: an exchange's metabolite without prefix, isomer
    and compartment (``EX_glc__D_e`` -> ``glc``, ``EX_o2_e`` -> ``o2``); other ids with
    everything but letters, digits and ``-`` replaced by ``-``."""
    match = re.fullmatch(r"EX_(.+?)(?:__[A-Za-z0-9]+)?_[A-Za-z0-9]+", reaction_id)
    text = match.group(1) if match else reaction_id
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-") or "r"


def number_text(value: float) -> str:
    """``value`` as a name part: positional, ``.`` as ``p`` (7.5 -> ``7p5``, 10.0 -> ``10``)."""
    text = np.format_float_positional(float(value), trim="-")
    return text.replace(".", "p")


def point_part(reaction_id: str, uptake: float) -> str:
    """``glc10``, ``o2x5``: short name and uptake rate (an ``x`` after a final digit)."""
    name = short_name(reaction_id)
    return f"{name}{'x' if name[-1].isdigit() else ''}{number_text(uptake)}"


def _points(name: str, family: Mapping[str, Any]) -> list[dict[str, float]]:
    """The uptake points of a grid or draw family (reaction id -> uptake rate)."""
    key = f"{KEY}.{name}"
    if "grid" in family:
        grid = family["grid"]
        if not grid:
            raise config_error(
                f"{key}.grid", "is empty; give exchange reaction ids with lists of uptake rates"
            )
        for reaction_id, values in grid.items():
            if not values:
                raise config_error(f"{key}.grid.{reaction_id}", "has no uptake rates")
        axes = list(grid)
        return [
            dict(zip(axes, map(float, point), strict=True))
            for point in itertools.product(*grid.values())
        ]
    draw = family["draw"]
    ranges = draw.get("ranges") or {}
    if not ranges:
        raise config_error(f"{key}.draw.ranges", "is empty; give exchange reaction ids")
    for reaction_id, (low, high) in ranges.items():
        if not 0 <= low <= high:
            raise config_error(
                f"{key}.draw.ranges.{reaction_id}", f"needs 0 <= low <= high, got [{low}, {high}]"
            )
    rng = np.random.default_rng(int(draw.get("seed", 0)))
    decimals = int(draw.get("decimals", 1))
    draws = rng.uniform(
        [low for low, _ in ranges.values()],
        [high for _, high in ranges.values()],
        size=(int(draw["n"]), len(ranges)),
    )
    return [
        dict(zip(ranges, (round(float(v), decimals) for v in row), strict=True)) for row in draws
    ]


def _entry(environment: Mapping[str, Any]) -> dict[str, Any]:
    """An environment entry with every key (the schema's defaults where it has none)."""
    return {
        "description": environment.get("description", ""),
        **{key: copy.deepcopy(dict(environment.get(key) or {})) for key in ENTRY_KEYS},
    }


def _uptake_member(
    base: Mapping[str, Any], point: Mapping[str, float], label: str
) -> dict[str, Any]:
    member = _entry(base)
    bounds = member["reaction_bounds"]
    for reaction_id, uptake in point.items():
        upper = float(bounds.get(reaction_id, (0.0, DEFAULT_UPPER))[1])
        bounds[reaction_id] = [-uptake if uptake else 0.0, upper]
    rates = ", ".join(f"{r} {u:g}" for r, u in point.items())
    member["description"] = f"{label}; uptake {rates} mmol/gDW/h"
    return member


def _knockout_member(
    base: Mapping[str, Any], reactions: Sequence[str], label: str
) -> dict[str, Any]:
    member = _entry(base)
    member["reaction_bounds"].update({reaction_id: [0.0, 0.0] for reaction_id in reactions})
    member["description"] = f"{label}; knockout {' '.join(reactions)}"
    return member


def _knockouts(name: str, family: Mapping[str, Any]) -> list[list[str]]:
    items = family["knockouts"]
    if not items:
        raise config_error(f"{KEY}.{name}.knockouts", "is empty; give reaction ids")
    return [[item] if isinstance(item, str) else list(item) for item in items]


def family_members(
    name: str, family: Mapping[str, Any], environments: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The environments family ``name`` expands into, by member name, in order: copies of
    its ``base`` (one of ``environments``) with the family's concentrations on top and the
    bounds of one grid point, draw or knockout each. Raises a config error naming the key
    for an unknown base, no or several kinds, an empty grid or two members of one name."""
    key = f"{KEY}.{name}"
    kinds = [kind for kind in KINDS if kind in family]
    if len(kinds) != 1:
        raise config_error(key, f"needs exactly one of {list(KINDS)}, got {kinds or 'none'}")
    base_name = family.get("base")
    if base_name not in environments:
        raise config_error(
            f"{key}.base",
            f"unknown environment {base_name!r}; configured: {sorted(environments)}",
        )
    base = environments[base_name]
    label = family.get("description") or f"family {name} from {base_name}"
    if kinds == ["knockouts"]:
        built = {
            f"{name}__ko_{'_'.join(map(short_name, ids))}": _knockout_member(base, ids, label)
            for ids in _knockouts(name, family)
        }
        count = len(family["knockouts"])
    else:
        points = _points(name, family)
        built = {
            f"{name}__{'_'.join(point_part(r, u) for r, u in point.items())}": _uptake_member(
                base, point, label
            )
            for point in points
        }
        count = len(points)
    if len(built) != count:
        hint = " (raise draw.decimals)" if kinds == ["draw"] else ""
        raise config_error(key, f"gives {count} members but only {len(built)} names{hint}")
    for entry in built.values():
        entry["concentrations"].update(copy.deepcopy(dict(family.get("concentrations") or {})))
    return built


def expand_families(
    families: Mapping[str, Mapping[str, Any]], environments: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Every family's members (:func:`family_members`), families in order. A member or a
    family may not take the name of a configured environment (unless that environment is
    the very same member, so that expanding twice changes nothing) or of another member."""
    members: dict[str, dict[str, Any]] = {}
    for name, family in families.items():
        if name in environments:
            raise config_error(f"{KEY}.{name}", "has the name of an environment")
        for member, entry in family_members(name, family, environments).items():
            clash = member in members or (
                member in environments and _entry(environments[member]) != entry
            )
            if clash:
                raise config_error(
                    f"{KEY}.{name}", f"member {member!r} clashes with an existing environment"
                )
            members[member] = entry
    return members


def family_names(config: Mapping[str, Any]) -> dict[str, list[str]]:
    """Family name -> its member names (for a config whose families are valid)."""
    return {
        name: list(family_members(name, family, config["environments"]))
        for name, family in config.get(KEY, {}).items()
    }


def resolve_names(names: Iterable[str], families: Mapping[str, Sequence[str]]) -> list[str]:
    """``names`` with each family name replaced by its members; order kept, repeats dropped."""
    resolved: dict[str, None] = {}
    for name in names:
        for member in families.get(name, [name]):
            resolved[member] = None
    return list(resolved)


def apply_families(config: dict) -> dict:
    """Add every family's members to ``config["environments"]`` and replace family names in
    the name lists (``run_environments``, ``training.environments``, ``training.heldout``,
    ``training.adaptation.environments``) by
    their members, in place. Idempotent; a config without families is left unchanged."""
    families = config.get(KEY) or {}
    if not families:
        return config
    members = expand_families(families, config["environments"])
    for member, entry in members.items():
        config["environments"].setdefault(member, entry)
    groups = family_names(config)
    for path in NAME_LISTS:
        section = config
        for part in path[:-1]:
            section = section.setdefault(part, {})
        if path[-1] in section:
            section[path[-1]] = resolve_names(section[path[-1]], groups)
    return config


def check_families_against_model(model: cobra.Model, config: Mapping[str, Any]) -> None:
    """Every reaction a family names exists; grid and draw reactions are exchanges."""
    reactions = {r.id for r in model.reactions}
    exchanges = {r.id for r in model.boundary}
    for name, family in (config.get(KEY) or {}).items():
        key = f"{KEY}.{name}"
        if "knockouts" in family:
            for ids in _knockouts(name, family):
                unknown = [r for r in ids if r not in reactions]
                if unknown:
                    raise config_error(f"{key}.knockouts", f"unknown reaction id {unknown[0]!r}")
            continue
        kind = "grid" if "grid" in family else "draw"
        named = family.get("grid") or (family.get("draw") or {}).get("ranges") or {}
        for reaction_id in named:
            if reaction_id not in exchanges:
                what = "reaction" if reaction_id in reactions else "unknown reaction id"
                raise config_error(
                    f"{key}.{kind}",
                    f"{what} {reaction_id!r} is not an exchange reaction of the model",
                )
