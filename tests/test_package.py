"""The library stands on its own: it installs without the workflow tree, and its modules
import one way (no cycles)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kinetigen.settings import SECTIONS

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "kinetigen"

# Run in the installed copy, from a folder outside the repository: validate the default
# config and build every settings object from it.
INSTALLED_CHECK = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import yaml

    import kinetigen
    from kinetigen import schema, settings
    from kinetigen.config import validate_config
    from kinetigen.kinetics.settings import KineticsSettings

    target = Path(sys.argv[1]).resolve()
    assert Path(kinetigen.__file__).resolve().is_relative_to(target), kinetigen.__file__
    config = validate_config(yaml.safe_load(Path(sys.argv[2]).read_text()))
    for cls in settings.SECTIONS:
        cls.from_config(config)
    whole = settings.WorkflowSettings.from_config(config)
    KineticsSettings.from_config(whole)
    settings.BioreactorSettings()
    print("ok", len(settings.SECTIONS), sorted(whole.environments))
    """
)


@pytest.mark.slow
def test_non_editable_install_validates_the_default_config(tmp_path):
    source = tmp_path / "source"
    shutil.copytree(
        PACKAGE, source / "src" / "kinetigen", ignore=shutil.ignore_patterns("__pycache__")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    target = tmp_path / "installed"
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
            "--no-build-isolation", "--no-index", "--target", str(target), str(source),
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
    )
    assert (target / "kinetigen" / "schemas" / "config.schema.yaml").is_file()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    environment = dict(os.environ, PYTHONPATH=str(target))
    result = subprocess.run(
        [sys.executable, "-c", INSTALLED_CHECK, str(target), str(REPO / "config.yaml")],
        cwd=outside,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # after HiGHS's banner
    assert result.stdout.splitlines()[-1].startswith(f"ok {len(SECTIONS)} ")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.Module) -> list[ast.stmt]:
    """Every import statement, at any depth, except those under ``if TYPE_CHECKING:``."""
    found: list[ast.stmt] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> dict[str, set[str]]:
    """kinetigen module -> the kinetigen modules it imports (function-level imports too)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _runtime_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                # "from pkg import sub" imports the submodule sub when there is one
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name] |= {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_is_read():
    graph = import_graph()
    assert "kinetigen.sampling.problem" in graph["kinetigen.sampling.tfa"]
    assert "kinetigen.schema" in graph["kinetigen.settings"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_in_kinetigen():
    cycle = _cycle(import_graph())
    assert cycle is None, " -> ".join(cycle)


def test_the_library_does_not_import_snakemake():
    for path in PACKAGE.rglob("*.py"):
        for node in _runtime_imports(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            assert not any((n or "").split(".")[0] == "snakemake" for n in names), path


def test_no_function_in_the_library_is_over_80_lines():
    """Long functions are split into named steps (issue 15); this keeps them so."""
    long = [
        f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name} ({length} lines)"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and (length := node.end_lineno - node.lineno + 1) > 80
    ]
    assert not long, long
