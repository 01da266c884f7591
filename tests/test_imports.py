"""The import graph of edgeseg, read from the source (ast, nothing imported): rooms stay in their floors.

A package is a first-level name under edgeseg (`edgeseg.engine`, `edgeseg.errors`, ...).
Module-level imports run when a module is imported; function-level imports only when the
function runs (how heavy libraries and upper layers are reached lazily). Both are checked
where a rule says "imports nothing from": a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
           for p in (ROOT / "edgeseg").rglob("*.py")}
DATA_LEVEL = {"edgeseg", "edgeseg.errors", "edgeseg.metadata", "edgeseg.artifacts", "edgeseg.data"}


def package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _targets(node, module: str) -> list[str]:
    """edgeseg modules an import statement names (a `from pkg import mod` names pkg.mod too)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "edgeseg"]
    base = node.module or ""
    if node.level:
        here = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(here[:len(here) - node.level + 1] + ([base] if base else []))
    if base.split(".")[0] != "edgeseg":
        return []
    return [base] + [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]


def imports() -> list[tuple[str, str, str]]:
    """(importer, imported, "module" | "function") for every edgeseg import in the package."""
    found = []

    def walk(node, module, where):
        for child in ast.iter_child_nodes(node):
            inner = "function" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) else where
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((module, t, inner) for t in _targets(child, module))
            walk(child, module, inner)

    for module, path in MODULES.items():
        walk(ast.parse(path.read_text(), str(path)), module, "module")
    return found


EDGES = imports()


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected groups of more than one node (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        if a != b:
            graph.setdefault(a, set()).add(b)
            graph.setdefault(b, set())
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def imported_by(pkg: str) -> dict[str, list[str]]:
    """{imported package: [importing module, ...]} for everything `pkg`'s modules import, lazily or not."""
    out: dict[str, list[str]] = {}
    for a, b, _ in EDGES:
        if package(a) == pkg and package(b) != pkg:
            out.setdefault(package(b), []).append(a)
    return out


def test_the_walk_sees_both_kinds_of_import():
    kinds = {(a, b): where for a, b, where in EDGES}
    assert kinds[("edgeseg.engine.builder", "edgeseg.platform.devices")] == "module"
    assert kinds[("edgeseg.cli.inspect", "edgeseg.models.checkpoint")] == "function"
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]


def test_no_cycle_between_packages_at_module_level():
    assert cycles({(package(a), package(b)) for a, b, where in EDGES if where == "module"}) == []


def test_no_cycle_between_files_at_module_level():
    assert cycles({(a, b) for a, b, where in EDGES if where == "module"}) == []


def test_engine_imports_nothing_from_bench():
    assert "edgeseg.bench" not in imported_by("edgeseg.engine")


def test_platform_imports_nothing_above_data():
    above = {p: m for p, m in imported_by("edgeseg.platform").items() if p not in DATA_LEVEL}
    assert above == {}


def test_library_code_never_imports_the_cli():
    users = {a for a, b, _ in EDGES if package(b) == "edgeseg.cli" and package(a) != "edgeseg.cli"}
    assert users == set()


def test_quant_imports_nothing_from_export():
    assert "edgeseg.export" not in imported_by("edgeseg.quant")


def test_export_imports_nothing_from_fleet():
    """fleet is above export: a Ray scorer reaches an export as an argument (run_export's `score`)."""
    assert "edgeseg.fleet" not in imported_by("edgeseg.export")


def test_no_cycle_between_packages_counting_lazy_imports():
    assert cycles({(package(a), package(b)) for a, b, _ in EDGES}) == []


def test_no_cycle_between_files_counting_lazy_imports():
    assert cycles({(a, b) for a, b, _ in EDGES}) == []


@pytest.mark.parametrize("probe", [
    "from edgeseg.cli.main import main; main(['--help'])",
    "from edgeseg.cli.main import main; main(['export', '--help'])",
    "import edgeseg; edgeseg.load, edgeseg.export_checkpoint, edgeseg.tune_checkpoint, edgeseg.FrameResult",
    "from edgeseg.runtime import open_runner; import edgeseg.runtime.onnx_runner, edgeseg.runtime.tensorrt_runner, "
    "edgeseg.runtime.ort, edgeseg.engine.sidecar, edgeseg.bench.benchmark, edgeseg.bench.report, edgeseg.platform.hardware",
])
def test_help_and_the_runtime_side_import_no_torch(probe):
    code = f"import sys; {probe}; print(sorted(m for m in ('torch', 'tensorrt', 'openvino', 'ray') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.strip().endswith("[]"), result.stdout[-800:] + result.stderr[-2000:]


# Third-party libraries a module imports only inside the function that needs them: each takes from
# 0.1 s (cv2) to seconds (torch, onnx under load) to import, and most commands need none or one of them.
HEAVY = {"torch", "tensorrt", "tensorrt_rtx", "openvino", "nncf", "ray", "matplotlib", "onnx", "onnxruntime",
         "onnxsim", "onnxslim", "cuda", "pycuda", "modelopt", "av", "cv2"}


def _module_level_names(module: str) -> list[str]:
    """Every module an import at module level names (third-party too; `try`/`if` blocks included)."""
    names = []
    for node in ast.parse(MODULES[module].read_text()).body:
        for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
            if isinstance(sub, ast.Import):
                names += [a.name for a in sub.names]
            elif isinstance(sub, ast.ImportFrom):
                names += _targets(sub, module) if (sub.module or "").startswith("edgeseg") or sub.level else [sub.module]
    return names


def heavy_modules() -> set[str]:
    """Our modules whose import loads a heavy library, themselves or through another of ours."""
    direct = {m: _module_level_names(m) for m in MODULES}
    heavy = {m for m, names in direct.items() if any(n.split(".")[0] in HEAVY for n in names)}
    changed = True
    while changed:
        changed = False
        for m, names in direct.items():
            parents = {".".join(n.split(".")[:i]) for n in names if n.startswith("edgeseg") for i in range(2, n.count(".") + 2)}
            if m not in heavy and parents & heavy:
                heavy.add(m)
                changed = True
    return heavy


def test_own_modules_are_imported_at_module_level():
    """A lazy import of our own code hides a dependency from whoever reads the file; it stays lazy only
    where the module loads a heavy library when imported (the networks load torch). The CLI is the
    exception: its command modules import the library inside the command, so `edgeseg --help` lists
    every command without loading any library code (0.32 s here, against 0.63 s with it)."""
    heavy = heavy_modules()
    assert {"edgeseg.models.s2fpn", "edgeseg.models.spfnet"} <= heavy
    lazy = sorted({(a, b) for a, b, where in EDGES if where == "function" and not a.startswith("edgeseg.cli")
                   and b in MODULES and b not in heavy})
    assert lazy == []
