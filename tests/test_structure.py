"""The floors of the code (shared ARCHITECTURE.md): imports point down, never round in a circle.

Read from the source, not from a running app: every `import` in inclusive_day/, where it sits
(module level, inside a function, under TYPE_CHECKING) and which module it reaches. Run as a
script (`python tests/test_structure.py [ROOT]`) it prints the counts for a tree.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Floor numbers: a module may import its own floor and those below, never one above.
GROUND, MODELS, ACCESS, DOMAIN, OUTPUTS, APP = range(6)
FLOOR_NAMES = ("ground", "models", "access", "domain", "reports/feeds/api/views", "app")

# Top-level modules everyone may use: configuration, extensions, time, uploads, web helpers.
GROUND_MODULES = {
    "assets",
    "compression",
    "config",
    "database",
    "enums",
    "extensions",
    "i18n",
    "json_errors",
    "pdfs",
    "periods",
    "refusals",
    "replica",
    "security",
    "spreadsheets",
    "uploads",
    "web",
}
# Pure rules a model computes its columns with (coordinates, opening hours, identities).
MODEL_HELPERS = {"stations.geo", "stations.hours", "attendance.identity"}
# Packages that read every domain and publish: reports, feeds, the API, the public directory,
# the home page.
OUTPUT_PACKAGES = {"reports", "feeds", "api", "directory", "main"}
# Modules that start things: the factory, the CLI groups, the demo loaders, backup.
APP_PACKAGES = {"demo"}
APP_MODULES = {"backup"}


def floor(module: str) -> int:
    """The floor of a dotted module name inside inclusive_day."""
    parts = module.split(".")[1:]
    if not parts:
        return APP  # inclusive_day/__init__.py: create_app
    name, leaf = ".".join(parts), parts[-1]
    if len(parts) == 1:
        if name in GROUND_MODULES:
            return GROUND
        if name == "models":
            return MODELS
        if name in APP_MODULES or name in APP_PACKAGES:
            return APP
        if name == "access":
            return ACCESS
        return OUTPUTS if name in OUTPUT_PACKAGES else DOMAIN
    package = parts[0]
    if package in APP_PACKAGES or leaf == "commands":
        return APP
    if package == "access":
        return ACCESS
    if leaf == "models" or name in MODEL_HELPERS:
        return MODELS
    if package in OUTPUT_PACKAGES or leaf.startswith("views"):
        return OUTPUTS
    return DOMAIN


@dataclass(frozen=True)
class Import:
    """One import statement's target, and where the statement sits."""

    source: str
    target: str
    line: int
    in_function: bool
    type_only: bool


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under `root`, by dotted name."""
    found = {}
    for path in sorted((root / "inclusive_day").rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports(root: Path) -> list[Import]:
    """Every import of an inclusive_day module by another, resolved to the module it loads."""
    known = modules(root)
    found = []
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        in_function, type_only = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                in_function.update(id(inner) for inner in ast.walk(node) if inner is not node)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                type_only.update(id(inner) for inner in ast.walk(node))
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            for target in _targets(name, is_package, node, known):
                found.append(
                    Import(
                        name, target, node.lineno, id(node) in in_function, id(node) in type_only
                    )
                )
    return found


def _targets(name: str, is_package: bool, node: ast.AST, known: dict[str, Path]) -> list[str]:
    """The inclusive_day modules one import statement loads."""
    if isinstance(node, ast.Import):
        wanted = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = name.split(".") if is_package else name.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        wanted = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
            for alias in node.names
        ]
    else:
        return []
    targets = []
    for target in wanted:
        if not target.startswith("inclusive_day"):
            continue
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        if target != name:
            targets.append(target)
    return targets


def upward(found: list[Import]) -> list[Import]:
    """Imports that reach from a lower floor up to a higher one."""
    return [i for i in found if not i.type_only and floor(i.source) < floor(i.target)]


def cycles(found: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other round in a circle (type-only imports aside)."""
    edges = defaultdict(set)
    for i in found:
        if not i.type_only:
            edges[i.source].add(i.target)
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(edges[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return groups


def hidden(found: list[Import]) -> list[Import]:
    """Imports inside functions, but for the app factory's, which loads the app lazily."""
    return [i for i in found if i.in_function and i.source != "inclusive_day"]


def _show(rows: list[Import]) -> str:
    return "\n".join(
        f"{i.source}:{i.line} ({FLOOR_NAMES[floor(i.source)]}) -> "
        f"{i.target} ({FLOOR_NAMES[floor(i.target)]})"
        for i in rows
    )


def test_no_module_imports_a_higher_floor():
    assert not upward(imports(ROOT)), _show(upward(imports(ROOT)))


def test_no_modules_import_each_other_in_a_circle():
    assert cycles(imports(ROOT)) == []


def test_no_import_hides_inside_a_function():
    assert not hidden(imports(ROOT)), _show(hidden(imports(ROOT)))


def test_the_floor_rule_sees_a_circle_and_an_upward_import():
    found = [
        Import("inclusive_day.periods", "inclusive_day.reports.recap", 1, True, False),
        Import("inclusive_day.reports.recap", "inclusive_day.periods", 1, False, False),
        Import("inclusive_day.units.models", "inclusive_day.access", 1, False, True),
    ]
    assert upward(found) == found[:1]
    assert cycles(found) == [["inclusive_day.periods", "inclusive_day.reports.recap"]]
    assert hidden(found) == found[:1]


if __name__ == "__main__":
    tree = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT
    everything = imports(tree)
    print(
        f"{len(modules(tree))} modules, {len(everything)} imports; "
        f"upward {len(upward(everything))}, inside functions {len(hidden(everything))}, "
        f"circles {len(cycles(everything))} "
        f"({sum(len(group) for group in cycles(everything))} modules)"
    )
    if "-v" in sys.argv:
        print(_show(upward(everything) + hidden(everything)))
