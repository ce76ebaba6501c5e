"""The package's layers, checked on its imports: data flows one way, formats (io) → models → interpretation →
steps → pipeline → command line, and no step imports another step (a shared thing lives below both)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pygenome"
LAYERS = {"": 0, "errors": 0, "io": 1, "model": 2, "interpret": 3, "steps": 4, "pipeline": 5, "cli": 6,
          "__main__": 6}  # a module's layer is that of its top-level name


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The pygenome modules ``path`` imports (at any depth of the file, lazily or not)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pygenome"):
            names.add(node.module.removeprefix("pygenome").lstrip("."))
            names.update(f"{node.module.removeprefix('pygenome.')}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name.removeprefix("pygenome.") for a in node.names if a.name.startswith("pygenome."))
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in names if name in modules}


def layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def step(module: str) -> str:
    """The step of a module of the steps layer: ``steps.report`` for ``steps.report.read`` (a step's package holds
    its parts)."""
    return ".".join(module.split(".")[:2])


FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[module_name(p) or "__init__" for p in FILES])
def test_a_module_imports_only_its_layer_and_those_below_and_no_other_step(path):
    module = module_name(path)
    for target in imported(path) - {module}:
        assert layer(target) <= layer(module), f"{module} (layer {layer(module)}) imports {target} ({layer(target)})"
        assert not (module.startswith("steps.") and target.startswith("steps.")) or step(module) == step(target), (
            f"step {module} imports {target}")


def test_every_module_has_a_layer_and_the_tree_is_the_architecture():
    tops = {module_name(p).split(".")[0] for p in FILES}
    assert tops == set(LAYERS)
    steps = {p.stem for p in (PACKAGE / "steps").glob("*.py")} | {p.parent.name for p in (PACKAGE / "steps").glob(
        "*/__init__.py")}  # a step is a module or a package
    assert steps - {"__init__"} == {
        "label", "train", "predict", "baseline", "evaluate", "motifs", "attribute", "gia", "filters", "report",
        "survey", "classify"}
