"""The control analysis of a workflow run as Markdown tables (for the README and notes).

    python benchmarks/control_report.py results

Reads ``results/analysis/{env}/control_checks.json`` and ``perturbation_summary.csv`` of every
environment and prints three tables: the checks (models analysed, theorem residuals,
finite-difference agreement), the three enzymes with the largest median |C^J| per flux of
interest for generated and ORACLE-valid models (median and IQR) with the agreement of the two
populations, and the enzyme perturbations (median fold change, error of the linear MCA
prediction, fraction that reached a steady state).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from kinetigen.io import read_csv, read_json

GROUPS = ("generated", "oracle")


def _environments(results: Path) -> dict[str, Path]:
    folders = sorted(p.parent for p in results.glob("analysis/*/control_checks.json"))
    if not folders:
        raise SystemExit(f"{results}: no analysis/*/control_checks.json (run the workflow first)")
    return {folder.name: folder for folder in folders}


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def checks_table(checks: dict[str, dict]) -> str:
    """Per environment and group: models, how many formed coefficients, the largest theorem
    residual, and the finite-difference sample (largest relative error, failed solves)."""
    rows = []
    for env, check in checks.items():
        for group in GROUPS:
            info = check["groups"].get(group, {})
            if not info.get("models"):
                rows.append([env, group, "0", "", "", "", ""])
                continue
            residual = max(v for v in info["max_residual"].values() if v is not None)
            fd = info["finite_differences"]
            error = max(fd["max_relative_error_flux"], fd["max_relative_error_concentration"])
            rows.append(
                [
                    env,
                    group,
                    str(info["models"]),
                    str(info["status"].get("ok", 0)),
                    f"{residual:.1e}",
                    f"{error:.1e} ({fd['models']} models x {fd['enzymes_per_model']} enzymes)",
                    str(fd["failed_solves"]),
                ]
            )
    header = [
        "environment",
        "group",
        "models",
        "coefficients formed",
        "max theorem residual",
        "max FD relative error",
        "failed FD solves",
    ]
    return _table(header, rows)


def _top(entries: list[dict]) -> str:
    return "<br>".join(
        f"{e['enzyme']} {e['median']:.2f} [{e['q25']:.2f}, {e['q75']:.2f}]" for e in entries
    )


def _shift(agreement: dict) -> str:
    """The largest shift in ORACLE IQRs, or why there is none (too few ORACLE models)."""
    shift = agreement["max_shift_iqr"]
    if shift is None:
        return f"- ({agreement['n_models']['oracle']} ORACLE models)"
    return f"{shift:.2f}"


def top_enzymes_table(checks: dict[str, dict]) -> str:
    """Per environment and flux of interest: the top three enzymes by median |C^J| with median
    [q25, q75] for each group, how many of the three they share, and the largest shift of the
    generated median from ORACLE's in ORACLE IQRs."""
    rows = []
    for env, check in checks.items():
        for target, agreement in check["agreement"].items():
            rows.append(
                [
                    env,
                    target,
                    _top(agreement["top"]["generated"]),
                    _top(agreement["top"]["oracle"]),
                    f"{agreement['shared_top']}/3",
                    _shift(agreement),
                ]
            )
    header = [
        "environment",
        "flux",
        "generated: enzyme median C^J [IQR]",
        "ORACLE-valid: enzyme median C^J [IQR]",
        "shared top 3",
        "max shift (IQR)",
    ]
    return _table(header, rows)


def _cell(fmt: str, value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else fmt.format(value)


def perturbation_table(summaries: dict[str, pd.DataFrame]) -> str:
    """Per environment, change and flux: median simulated fold change, median error of the
    linear prediction, and the fraction of models that reached a steady state, per group."""
    rows = []
    for env, summary in summaries.items():
        wide = summary.pivot_table(
            index=["change", "target"],
            columns="group",
            values=["fold_change_median", "linear_error_median", "fraction_reached"],
            sort=False,
        )
        for (change, target), row in wide.iterrows():
            cells = [env, change, target]
            for name, fmt in (
                ("fold_change_median", "{:.3g}"),
                ("linear_error_median", "{:.1%}"),
                ("fraction_reached", "{:.0%}"),
            ):
                cells.append(" / ".join(_cell(fmt, row.get((name, g))) for g in GROUPS))
            rows.append(cells)
    header = [
        "environment",
        "change",
        "flux",
        "median fold (gen / ORACLE)",
        "linear error (gen / ORACLE)",
        "reached (gen / ORACLE)",
    ]
    return _table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a workflow results folder")
    results = parser.parse_args().results
    folders = _environments(results)
    checks = {env: read_json(f / "control_checks.json") for env, f in folders.items()}
    summaries = {
        env: read_csv(f / "perturbation_summary.csv")
        for env, f in folders.items()
        if (f / "perturbation_summary.csv").exists()
    }
    print("## Checks\n\n" + checks_table(checks))
    print("\n## Top three enzymes per flux of interest\n\n" + top_enzymes_table(checks))
    if summaries:
        print("\n## Enzyme perturbations\n\n" + perturbation_table(summaries))


if __name__ == "__main__":
    main()
