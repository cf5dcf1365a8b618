"""The layout's guard rails: which layer may import which, no import cycles, no oversized files.

Every .py file of the project is parsed (not imported), and every import counts wherever it sits: at
module level, under `if TYPE_CHECKING`, or inside a function, since an import moved into a function is
the usual way a cycle gets hidden rather than removed.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {"venv", "build", "node_modules", "__pycache__", "snapshots"}
PRODUCT = {"__main__", "config", "components", "preflight"}
MAX_LINES = 600
# Source files the line limit applies to; data (json/yaml) and prose are not code.
CODE_SUFFIXES = {".py", ".mjs", ".js", ".ts", ".sh"}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, e.g. "components.addons.portainer"
    target: str  # the project module it names, e.g. "config.base"
    path: str  # the importing file, relative to the root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line} {self.source} -> {self.target}"


def walk(root: Path) -> Iterator[Path]:
    """Every file under root, skipping hidden folders, virtualenvs, build output and node_modules."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith("."))
        for name in sorted(files):
            yield Path(folder) / name


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    return {module_name(p, root): p for p in walk(root) if p.suffix == ".py"}


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The longest project module that `name` starts with, or None for a third-party name."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, root: Path, modules: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    rel = str(path.relative_to(root))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from pkg import mod` names the submodule when there is one, else the module itself.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names
            ]
        for name in names:
            target = resolve(name, modules)
            if target is not None and target != module:
                yield Import(module, target, rel, node.lineno)


def all_imports(root: Path) -> list[Import]:
    modules = project_modules(root)
    found = {i: None for module, path in modules.items() for i in imports_of(module, path, root, modules)}
    return list(found)  # one per line and target, in file order


def layer(module: str) -> str:
    return module.split(".")[0]


def product_offenders(imports: list[Import]) -> list[Import]:
    """Product code runs under `pulumi up`: it never needs the harness, the operator tools, tools or tests."""
    return [
        i
        for i in imports
        if layer(i.source) in PRODUCT and layer(i.target) in {"harness", "ops", "tools", "tests"}
    ]


def config_offenders(imports: list[Import]) -> list[Import]:
    """config/ is pure data and rules: it imports nothing of the project outside config/."""
    return [i for i in imports if layer(i.source) == "config" and layer(i.target) != "config"]


def components_offenders(imports: list[Import]) -> list[Import]:
    """Components register resources; the live-account checks run before them, from __main__."""
    return [i for i in imports if layer(i.source) == "components" and layer(i.target) == "preflight"]


def ops_offenders(imports: list[Import]) -> list[Import]:
    """Operator tools run against a live cluster and must not depend on the offline harness."""
    return [i for i in imports if layer(i.source) == "ops" and layer(i.target) == "harness"]


def support_offenders(imports: list[Import]) -> list[Import]:
    """Shared test helpers live in tests/support; a test module or conftest is never imported."""
    return [
        i
        for i in imports
        if layer(i.source) == "tests"
        and layer(i.target) == "tests"
        and not (i.target == "tests.support" or i.target.startswith("tests.support."))
    ]


def cycles(imports: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for i in imports:
        graph.setdefault(i.source, set()).add(i.target)
        graph.setdefault(i.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def cycle_report(imports: list[Import]) -> str:
    lines = []
    for component in cycles(imports):
        members = set(component)
        lines.append(" <-> ".join(component))
        lines += [f"    {i}" for i in imports if i.source in members and i.target in members]
    return "\n".join(lines)


def long_files(root: Path, limit: int = MAX_LINES) -> list[str]:
    """Code files outside tests/ longer than the limit, with their line counts."""
    found = []
    for path in walk(root):
        rel = path.relative_to(root)
        if rel.parts[0] == "tests" or path.suffix not in CODE_SUFFIXES:
            continue
        count = len(path.read_text(errors="replace").splitlines())
        if count > limit:
            found.append(f"{rel}: {count} lines")
    return found


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    return all_imports(ROOT)


def _listing(offenders: list[Import]) -> str:
    return "\n".join(f"    {i}" for i in offenders)


def test_product_never_imports_harness_ops_tools_or_tests(imports: list[Import]) -> None:
    offenders = product_offenders(imports)
    assert not offenders, f"product code imports harness/ops/tools/tests:\n{_listing(offenders)}"


def test_config_imports_only_config(imports: list[Import]) -> None:
    offenders = config_offenders(imports)
    assert not offenders, f"config/ imports project code outside config/:\n{_listing(offenders)}"


def test_components_never_import_preflight(imports: list[Import]) -> None:
    offenders = components_offenders(imports)
    assert not offenders, f"components/ imports preflight/:\n{_listing(offenders)}"


def test_ops_never_imports_harness(imports: list[Import]) -> None:
    offenders = ops_offenders(imports)
    assert not offenders, f"ops/ imports harness/:\n{_listing(offenders)}"


def test_tests_import_helpers_only_from_support(imports: list[Import]) -> None:
    offenders = support_offenders(imports)
    assert not offenders, (
        f"tests import a test module or conftest (move the helper to tests/support):\n{_listing(offenders)}"
    )


def test_no_import_cycles(imports: list[Import]) -> None:
    report = cycle_report(imports)
    assert not report, f"import cycles between project modules (imports inside functions count):\n{report}"


def test_no_long_files_outside_tests() -> None:
    offenders = long_files(ROOT)
    assert not offenders, (
        f"files longer than {MAX_LINES} lines (split them along their seams):\n"
        + "\n".join(f"    {o}" for o in offenders)
    )
