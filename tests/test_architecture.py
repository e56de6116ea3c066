"""The layers of docs/architecture.md hold: imports go downward only, there is no import circle,
and no function in pipeline/ or publishers/ grows past 60 lines without saying why."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "publishers")

#: Front ends parse input, call the application layer and print; the application layer wires the
#: stages; every other module is a stage. A module may import its own layer or any layer below.
FRONT_ENDS = ("pipeline.cli", "pipeline.__main__", "pipeline.commands", "pipeline.schedule", "pipeline.web")
APPLICATION = ("pipeline.app", "pipeline.preview")
LIMIT = 60  # lines; a longer function says why in a comment right above it (docs/architecture.md)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def _layer(module: str) -> int:
    if any(module == m or module.startswith(m + ".") for m in FRONT_ENDS):
        return 2
    if module in APPLICATION:
        return 1
    return 0


def _runtime_imports(tree: ast.Module, module: str, known: set[str]) -> set[str]:
    """Every module of ours this one imports at run time (at top level or inside a function;
    not under ``if TYPE_CHECKING:``)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    found = set()
    package = module if (ROOT / module.replace(".", "/") / "__init__.py").exists() else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            # the longest known prefix: `from pipeline.ledger import Hold` is pipeline.ledger
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: _runtime_imports(ast.parse(p.read_text(encoding="utf-8")), m, known) for m, p in mods.items()}


def test_imports_go_downward_only():
    upward = [f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
              for m, targets in _graph().items() for t in sorted(targets) if _layer(t) > _layer(m)]
    assert upward == []


def test_no_import_circle():
    graph = _graph()
    circles, state = [], {}

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                circles.append(" -> ".join(stack[stack.index(t):] + [t]))
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    assert circles == []


def test_the_checks_can_fail():
    """The two checks above see a real upward import and a real circle."""
    known = {"pipeline.plan", "pipeline.app", "pipeline.cli"}
    tree = ast.parse("def f():\n    from pipeline.app import Session\n")
    assert _runtime_imports(tree, "pipeline.plan", known) == {"pipeline.app"}
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipeline.cli import main\n")
    assert _runtime_imports(tree, "pipeline.plan", known) == set()
    assert _layer("pipeline.app") > _layer("pipeline.plan") and _layer("pipeline.commands.base") > _layer("pipeline.app")


def _long_functions(source: str) -> list[tuple[str, int]]:
    lines = source.splitlines()
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            above = lines[first - 2].strip() if first >= 2 else ""
            if length > LIMIT and not above.startswith("#"):
                out.append((node.name, length))
    return out


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_long_function_without_a_reason(module):
    assert _long_functions(_modules()[module].read_text(encoding="utf-8")) == []


def test_the_length_check_can_fail():
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    assert _long_functions(f"def f():\n{body}\n") == [("f", LIMIT + 1)]
    assert _long_functions(f"# one pass over the rows: splitting it would hide the order\ndef f():\n{body}\n") == []
