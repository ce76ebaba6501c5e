"""The package's layers, checked on its imports: data flows one way, formats → models and interpretation → steps →
pipeline → command line, and no step imports another step (a shared thing lives below both)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pygenome"
STEPS = {"labels", "train", "predict", "baseline", "evaluate", "motifs.step", "attribute", "gia", "filters", "report"}
PIPELINE = {"pipeline", "run", "demo", "slurm"}
TOP = {"cli", "__main__"}


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
    if module in TOP:
        return 3
    if module in PIPELINE:
        return 2
    if module in STEPS:
        return 1
    return 0


FILES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=[module_name(p) or "__init__" for p in FILES])
def test_a_module_imports_only_layers_below_it_and_no_other_step(path):
    module = module_name(path)
    for target in imported(path) - {module}:
        assert layer(target) < layer(module) or (layer(target) == layer(module) != 1), \
            f"{module} (layer {layer(module)}) imports {target} (layer {layer(target)})"
