"""Imports flow one way: each package imports only from its own layer or the layers below it.

    core      errors, reference, workdir, quarantine, settings
    ingest    landing files -> raw Parquet and sheets
    transform SQL models in DuckDB (compute and assessment)
    validate  GX suites (reads the blank-value flags the transform models set)
    publish   warehouse engines, catalog
    report    read-only views of the warehouse (UI)
    app       pipeline, cli, demo, schema_docs: wiring only

Package imports stay at module top level (visible to a reader and to this test); only third-party
heavy imports (pandas, GX, DuckDB, pyarrow, psycopg, Airflow) may sit inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "include" / "carbon_assess"
LAYERS = (
    {"carbon_assess", "errors", "reference", "workdir", "quarantine", "settings", "landing",
     "model_schema"},
    {"ingest", "fetch"},
    {"transform"},
    {"validate"},
    {"publish"},
    {"report"},
    {"pipeline", "cli", "demo", "schema_docs", "orchestration"},
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """The layer of `carbon_assess.<top>...` by its first component below the package."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else parts[0]
    for index, names in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported carbon_assess module, line, inside a function) for every import in a file."""
    found: list[tuple[str, int, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno, in_function) for a in child.names
                             if a.name.startswith("carbon_assess"))
            elif isinstance(child, ast.ImportFrom) and (child.module or "").startswith(
                    "carbon_assess"):
                base = child.module or ""
                for alias in child.names:  # `from carbon_assess import reference` is a module
                    name = f"{base}.{alias.name}"
                    where = PACKAGE.parent / name.replace(".", "/")
                    is_module = where.with_suffix(".py").exists() or where.is_dir()
                    found.append((name if is_module else base, child.lineno, in_function))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_is_in_a_layer() -> None:
    for module in MODULES:
        _layer(module)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_flow_down(module: str) -> None:
    own = _layer(module)
    upward = [f"line {line}: {name} (layer {_layer(name)} > {own})"
              for name, line, _ in _imports(MODULES[module]) if _layer(name) > own]
    assert not upward, f"{module} imports upward: " + "; ".join(upward)


# Modules that may import the package inside functions, and why. The layering and cycle tests
# above still see those imports.
FUNCTION_IMPORTS_ALLOWED = {
    # each Airflow task is a fresh process: a stage imports only its own layer, so that no task
    # but validate loads GX (tests/test_stage_imports.py, benchmarks/bench_airflow.py)
    "carbon_assess.pipeline",
}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_package_imports_are_at_module_level(module: str) -> None:
    if module in FUNCTION_IMPORTS_ALLOWED:
        return
    hidden = [f"line {line}: {name}" for name, line, inside in _imports(MODULES[module]) if inside]
    assert not hidden, f"{module} imports the package inside a function: " + "; ".join(hidden)


def test_no_import_cycle_between_modules() -> None:
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        targets = set()
        for name, _, _ in _imports(path):
            while name not in MODULES and "." in name:
                name = name.rsplit(".", 1)[0]
            if name != module:
                targets.add(name)
        graph[module] = targets
    state: dict[str, int] = {}
    cycles: list[str] = []

    def visit(node: str, chain: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*chain[chain.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*chain, nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles: " + "; ".join(cycles)


def test_a_planted_upward_import_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: ingest importing publish is reported."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from carbon_assess.publish import publish\n", encoding="utf-8")
    (name, line, inside), = _imports(bad)
    assert name == "carbon_assess.publish" and line == 2 and inside
    assert _layer(name) > _layer("carbon_assess.ingest.layouts")
