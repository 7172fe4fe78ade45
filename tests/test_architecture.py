"""The house's import rules, read from the source: apps import only downward, no import loop (module-level or
function-level), the quality core is pure numpy, and a function-level import says why on its line."""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Lower layers first: a module may import its own layer and those below, never above. demo makes data through
# the three domain apps' services; the portal is on top and uses the demo's sample only as the job page's fallback.
LAYERS = {"common": 0, "config": 0, "workforce": 1, "annotations": 2, "payroll": 3, "demo": 4, "portal": 5}
# The wiring on top of everything: the root URLconf and the health page ask the apps.
WIRING = {"config.urls", "config.health"}
QUALITY_CORE = "annotations.quality"
QUALITY_ALLOWED = {"numpy", "PIL", QUALITY_CORE}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _app_modules() -> dict[str, Path]:
    found = {}
    for top in LAYERS:
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" not in path.parts:
                found[_module_name(path)] = path
    return found


MODULES = _app_modules()


class _Imports(ast.NodeVisitor):
    """Every import of a module with its line and whether it sits inside a function."""

    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.found: list[tuple[str, int, bool]] = []
        self.spans: dict[int, int] = {}  # first line of an import statement -> its last line
        self.depth = 0

    def _function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function  # noqa: N815

    def visit_Import(self, node: ast.Import) -> None:
        self.spans[node.lineno] = node.end_lineno or node.lineno
        for alias in node.names:
            self.found.append((alias.name, node.lineno, self.depth > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.spans[node.lineno] = node.end_lineno or node.lineno
        base = node.module or ""
        if node.level:
            package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, *([base] if base else [])])
        for alias in node.names:
            # `from pkg import mod` imports the submodule when there is one.
            target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            self.found.append((target, node.lineno, self.depth > 0))


def _visited(module: str) -> _Imports:
    path = MODULES[module]
    visitor = _Imports(module, path.name == "__init__.py")
    visitor.visit(ast.parse(path.read_text(), filename=str(path)))
    return visitor


def _imports(module: str) -> list[tuple[str, int, bool]]:
    return _visited(module).found


def _layer(module: str) -> int | None:
    return LAYERS.get(module.split(".")[0])


def test_apps_import_only_downward() -> None:
    upward = []
    for module in MODULES:
        if module in WIRING:
            continue
        for target, line, _ in _imports(module):
            mine, theirs = _layer(module), _layer(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{MODULES[module].relative_to(ROOT)}:{line} imports {target}")
    assert upward == []


def test_the_quality_core_imports_nothing_of_django_or_the_apps() -> None:
    outside = [f"{MODULES[m].relative_to(ROOT)}:{line} imports {target}"
               for m in MODULES if m == QUALITY_CORE or m.startswith(QUALITY_CORE + ".")
               for target, line, _ in _imports(m)
               if (target.split(".")[0] in LAYERS or target.split(".")[0] == "django")
               and not (target == QUALITY_CORE or target.startswith(QUALITY_CORE + "."))]
    assert outside == []


def test_no_import_loop_among_app_modules_even_through_function_level_imports() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for module in MODULES:
        for target, _, _ in _imports(module):
            # A package's __init__ runs first when its submodule is imported, but only an edge to a module counts.
            if target in MODULES and target != module:
                graph[module].add(target)
    loops, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                loops.append(" -> ".join([*stack[stack.index(nxt):], nxt]))
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert loops == []


def test_a_function_level_import_says_on_its_line_why_it_cannot_be_at_the_top() -> None:
    silent = []
    for module, path in MODULES.items():
        lines = path.read_text().splitlines()
        visited = _visited(module)
        for target, line, in_function in visited.found:
            statement = lines[line - 1:visited.spans[line]]
            if in_function and not any("#" in text for text in statement):
                silent.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert silent == []


@pytest.mark.parametrize("app", ["workforce", "annotations", "payroll"])
def test_each_domain_app_has_the_one_shape(app: str) -> None:
    base = ROOT / app
    for name in ("models.py", "services/__init__.py", "selectors/__init__.py", "api.py", "api_urls.py",
                 "views.py", "urls.py", "forms.py"):
        assert (base / name).is_file(), f"{app}/{name} is missing"
