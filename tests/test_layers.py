"""The layout holds: no import cycle among webui's modules (function-level imports
included) and every import points down the layers of docs/architecture.md."""

import ast
import functools
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "webui"

# Lower number = lower layer; a module may import its own layer or lower ones.
LAYERS = {
    "webui.extensions": 0,
    "webui.errors": 0,
    "webui.headers": 0,
    "webui.assets": 0,
    "webui.compression": 0,
    "webui.config": 0,
    "webui.sql_trace": 0,
    "webui.core.parsers": 0,  # pure functions: config reads the environment with them
    "webui.models": 1,
    "webui.core": 2,
    "webui.security": 3,
    "webui.services": 4,
    "webui.forms": 5,
    "webui.transfers": 5,
    "webui.signin": 5,
    "webui.templating": 5,
    "webui.cli": 5,
}
BLUEPRINTS = ("account", "admin", "api", "auth", "chat", "workspace")
BLUEPRINT_LAYER = 6


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """Every webui module ``path`` imports, wherever in the file the import stands."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from webui.services import users`` imports the module webui.services.users
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


@functools.cache
def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    known = set(paths)
    graph = {}
    for name, path in paths.items():
        # A package's own __init__ is imported with every submodule; it is not an edge.
        graph[name] = {
            target
            for target in imported_modules(path, known)
            if target != name and not name.startswith(target + ".") and target != "webui"
        }
    return graph


def layer_of(module: str) -> int | None:
    if module == "webui":
        return None  # the factory wires every layer together
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in BLUEPRINTS:
        return BLUEPRINT_LAYER
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return layer
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting, done = [], set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return visiting[visiting.index(node) :] + [node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph.get(node, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_checker_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_webui_modules():
    assert find_cycle(import_graph()) is None


@pytest.mark.parametrize("module", sorted(import_graph()))
def test_imports_point_down(module):
    own = layer_of(module)
    if own is None:
        return
    upward = [target for target in import_graph()[module] if (layer_of(target) or 0) > own]
    assert not upward, f"{module} (layer {own}) imports higher layers: {upward}"


def test_a_blueprint_never_imports_another():
    for module, targets in import_graph().items():
        if layer_of(module) != BLUEPRINT_LAYER:
            continue
        own = module.split(".")[1]
        others = {t.split(".")[1] for t in targets if layer_of(t) == BLUEPRINT_LAYER} - {own}
        assert not others, f"{module} imports the blueprint(s) {sorted(others)}"
