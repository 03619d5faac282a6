"""The shape the code must keep: imports point one way (no cycles, lazy ones included), and no
module outside providers/ and sim/ names a provider in code (STYLE: a provider is one value)."""

from __future__ import annotations

import ast
from pathlib import Path

from mcp_directory.providers import PROVIDERS

PACKAGE = Path(__file__).resolve().parent.parent / "mcp_directory"


def module_name(path: Path, root: Path = PACKAGE.parent) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, root: Path = PACKAGE.parent, *, typing_too: bool = False) -> set[str]:
    """The package modules `path` imports anywhere (functions too), except under TYPE_CHECKING
    (unless `typing_too`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    typing_only = {
        id(node)
        for block in ast.walk(tree)
        if not typing_too and isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for stmt in block.body
        for node in ast.walk(stmt)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}
    return {m for m in found if m.startswith("mcp_directory")}


def graph(typing_too: bool = False) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {m for m in imported(path, typing_too=typing_too) if m in modules and m != name}
        for name, path in modules.items()
    }


def test_imports_have_no_cycle():
    assert_acyclic(graph())


def test_the_simulators_have_no_cycle_even_for_types():
    """A write module types what it needs of its read module as a Protocol of its own."""
    edges = graph(typing_too=True)
    assert_acyclic({name: edges[name] for name in edges if name.startswith("mcp_directory.sim.")})


def assert_acyclic(edges: dict[str, set[str]]) -> None:
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> None:
        if node in stack:
            cycle = [*stack[stack.index(node) :], node]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if node in done:
            return
        stack.append(node)
        for following in sorted(edges.get(node, ())):
            # A package imports its own modules on purpose (its __init__ lists them).
            if not node.endswith(following) and not following.startswith(node + "."):
                visit(following)
        stack.pop()
        done.add(node)

    for module in sorted(edges):
        visit(module)


def test_the_cycle_check_can_fail(tmp_path):
    (tmp_path / "mcp_directory").mkdir()
    a, b = tmp_path / "mcp_directory" / "a.py", tmp_path / "mcp_directory" / "b.py"
    a.write_text("def f():\n    from . import b\n")
    b.write_text("from .a import f\nif TYPE_CHECKING:\n    from .c import g\n")
    assert "mcp_directory.b" in imported(a, tmp_path)  # a lazy import counts
    assert "mcp_directory.a" in imported(b, tmp_path) and "mcp_directory.c" not in imported(b, tmp_path)


def code_words(path: Path) -> set[str]:
    """Identifiers and string constants of a module, without its docstrings and comments."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.add(node.value.lower())
        elif isinstance(node, ast.Name):
            words.add(node.id.lower())
        elif isinstance(node, ast.Attribute):
            words.add(node.attr.lower())
    return words


def test_no_module_outside_providers_and_sim_names_a_provider():
    names = [p.name for p in PROVIDERS]
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(("providers/", "sim/")):
            continue
        for word in code_words(path):
            offenders += [f"{relative}: {word!r}" for name in names if name in word]
    assert offenders == []
