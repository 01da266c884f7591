"""The shape rules of the house, checked on the source: no function outside the CLI takes more than
10 parameters (options travel as typed objects), and every command's body only turns its options
into those objects and calls the library (at most 30 lines)."""

import ast
from pathlib import Path

import pytest

import edgeseg

ROOT = Path(edgeseg.__file__).parent
MAX_PARAMS, MAX_COMMAND_LINES = 10, 30


def _functions(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _params(fn) -> int:
    a = fn.args
    return len(a.posonlyargs) + len(a.args) + len(a.kwonlyargs) + bool(a.vararg) + bool(a.kwarg) - (
        1 if a.args and a.args[0].arg in ("self", "cls") else 0)


def _is_command(fn) -> bool:
    """Registered with Typer: named *_cmd (register() adds it) or decorated with @app.command(...)."""
    decorated = any(isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "command" for d in fn.decorator_list)
    return decorated or fn.name.endswith("_cmd")


def _body_lines(fn) -> int:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring
    return 0 if not body else body[-1].end_lineno - body[0].lineno + 1


def test_no_library_function_takes_more_than_10_parameters():
    too_many = [f"{p.relative_to(ROOT)}:{fn.lineno} {fn.name} ({_params(fn)})"
                for p in sorted(ROOT.rglob("*.py")) if "cli" not in p.relative_to(ROOT).parts
                for fn in _functions(p) if _params(fn) > MAX_PARAMS]
    assert not too_many, too_many


def test_every_command_body_is_at_most_30_lines():
    commands = [(p, fn) for p in sorted((ROOT / "cli").glob("*.py")) for fn in _functions(p) if _is_command(fn)]
    assert len(commands) >= 10  # the walk found the commands (export, eval, bench, fleet bench, ...)
    too_long = [f"{p.name}:{fn.lineno} {fn.name} ({_body_lines(fn)} lines)" for p, fn in commands
                if _body_lines(fn) > MAX_COMMAND_LINES]
    assert not too_long, too_long


def _option_classes() -> set[str]:
    """The dataclasses that hold options: every kw_only dataclass in edgeseg/ (the test below makes
    each options type one)."""
    names = set()
    for p in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(d, ast.Call) and getattr(d.func, "id", "") == "dataclass"
                    and any(k.arg == "kw_only" for k in d.keywords) for d in node.decorator_list):
                names.add(node.name)
    return names


OPTION_TYPES = {"ContractOptions", "OnnxOptions", "VerifyOptions", "QuantOptions", "ExportOptions", "BuildSettings",
                "QuantConfig", "TuneOptions", "FleetBenchSettings", "ScoredData", "BenchSettings", "EvalRequest",
                "RunOptions", "Protocol", "RunnerOptions", "RunnerRequest"}


def test_options_are_keyword_only_and_never_built_positionally():
    """Insert a field and a positional call puts every later value in the wrong field, silently:
    options are kw_only dataclasses, and no call anywhere (library, benchmarks, tests) passes one
    a positional argument."""
    classes = _option_classes()
    assert OPTION_TYPES <= classes, OPTION_TYPES - classes
    found = []
    for p in [*ROOT.rglob("*.py"), *(ROOT.parent / "benchmarks").rglob("*.py"), *(ROOT.parent / "tests").rglob("*.py")]:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in classes:
                    found.append(f"{p.name}:{node.lineno} {name}")
    assert not found, found


def _command_defaults(command) -> dict:
    import inspect
    import typing

    from typer.models import ParameterInfo

    hints = typing.get_type_hints(command, include_extras=True)
    out = {}
    for name, param in inspect.signature(command).parameters.items():
        info = next((m for m in getattr(hints.get(name), "__metadata__", ()) if isinstance(m, ParameterInfo)), None)
        out[name] = param.default if info is not None else getattr(param.default, "default", param.default)
    return out


def test_every_export_option_default_is_the_librarys():
    """A CLI default is None (the library's), or for a switch the library's own value: a default is
    written once, in the options dataclass."""
    from dataclasses import fields

    from edgeseg.cli.export import export_cmd
    from edgeseg.export.options import GROUPS, ExportOptions, field_paths

    defaults = _command_defaults(export_cmd)
    paths = field_paths()
    # export's --argmax puts the class map in the ONNX already; engine.class_map is `build`'s (a TopK on a logits ONNX)
    assert set(paths) - {"device"} <= set(defaults) | {"opt_level", "shapes", "dla_core", "class_map"}, \
        set(paths) - set(defaults)
    library = {f"{g}.{f.name}": f.default for g, cls in GROUPS.items() for f in fields(cls)}
    library.update({f.name: f.default for f in fields(ExportOptions)})
    restated = {name: value for name, value in defaults.items()
                if name in paths and value is not None and value != library[paths[name]]}
    assert not restated, restated
    assert all(value is None or isinstance(value, bool) for name, value in defaults.items() if name in paths)


def test_build_option_defaults_are_the_librarys():
    from dataclasses import fields

    from edgeseg.cli.build import build_cmd
    from edgeseg.engine.builder import BuildSettings

    defaults = _command_defaults(build_cmd)
    named = {f.name for f in fields(BuildSettings)}
    assert named <= set(defaults), named - set(defaults)
    assert all(defaults[n] is None for n in named)


def _library_defaults(*classes) -> dict:
    from dataclasses import MISSING, fields

    return {f.name: f.default for cls in classes for f in fields(cls) if f.default is not MISSING}


def _commands_and_their_options():
    """(command, the dataclasses it builds by name): bench, eval, fleet bench."""
    from edgeseg.bench.benchmark import BenchSettings, ScoredData
    from edgeseg.bench.eval_run import EvalRequest
    from edgeseg.cli.bench import bench_cmd
    from edgeseg.cli.eval import eval_cmd
    from edgeseg.cli.fleet import bench_cmd as fleet_bench_cmd
    from edgeseg.fleet.bench import FleetBenchSettings

    return [(bench_cmd, (BenchSettings, ScoredData)), (eval_cmd, (EvalRequest,)),
            (fleet_bench_cmd, (FleetBenchSettings, ScoredData))]


@pytest.mark.parametrize("index", range(3), ids=["bench", "eval", "fleet-bench"])
def test_every_bench_and_eval_option_default_is_the_librarys(index):
    """As for export: a parameter named as a field of what the command builds has the default None (or a
    switch's own library value); the default is written once, in the dataclass."""
    command, classes = _commands_and_their_options()[index]
    defaults, library = _command_defaults(command), _library_defaults(*classes)
    named = set(defaults) & set(library)
    assert len(named) >= 5, named  # the walk found the options
    restated = {n: defaults[n] for n in named if defaults[n] is not None
                and not (isinstance(defaults[n], bool) and defaults[n] == library[n])}
    assert not restated, restated


def test_an_option_error_names_the_commands_flag():
    """The library names a field path; each command renders it as its own flag, read from its Typer
    parameters (no table): export's --calib-method is QuantOptions.method."""
    from edgeseg.cli.common import flags_of
    from edgeseg.cli.export import export_cmd

    flags = flags_of(export_cmd)
    assert flags["method"] == "--calib-method" and flags["fp16_rest"] == "--fp32-rest"
    assert flags["calib_data"] == "--calib-data" and flags["workspace_gb"] == "--workspace"
    assert flags["verify_sizes"] == "--verify-size" and flags["mean_bgr"] == "--mean"


def _flag_strings(tree):
    """Strings starting like a flag (--x), except in a list or tuple literal: that is another program's
    command line (nvidia-smi, tegrastats, `ray start`), written as its argv, never a message."""
    argv = {id(n) for node in ast.walk(tree) if isinstance(node, (ast.List, ast.Tuple)) for e in node.elts
            for n in ast.walk(e)}
    return [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and node.value[:2] == "--" and node.value[2:3].isalpha() and id(node) not in argv]


def test_no_library_module_spells_an_options_flag():
    """Option checks name fields, never flags: no module outside cli/ holds a string starting with --
    (edgeseg/errors.py renders field paths as flags; each command renders them as its own)."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "cli":
            continue
        found += [f"{rel}:{n.lineno} {n.value[:30]!r}" for n in _flag_strings(ast.parse(path.read_text()))]
    assert not found, found


def test_the_flag_rule_sees_messages_and_spares_argv():
    tree = ast.parse('raise E(f"--iters must be {n}")\nargv = ["ray", "start", "--head", f"--port={p}"]\n')
    assert [n.value for n in _flag_strings(tree)] == ["--iters must be "]
