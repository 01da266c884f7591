"""The shape rules of the house, checked on the source: no function outside the CLI takes more than
12 parameters (options travel as typed objects), and every command's body only turns its options
into those objects and calls the library (at most 30 lines)."""

import ast
from pathlib import Path

import edgeseg

ROOT = Path(edgeseg.__file__).parent
MAX_PARAMS, MAX_COMMAND_LINES = 12, 30


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


def test_no_library_function_takes_more_than_12_parameters():
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


def test_the_export_flag_table_names_real_options():
    """The one table the library's messages take flag names from lists options `export` has."""
    import typer.main

    from edgeseg.cli.export import FLAGS, export_cmd
    from edgeseg.export.options import ExportOptions

    app = typer.Typer()
    app.command()(export_cmd)
    declared = {o for p in typer.main.get_command(app).params for o in getattr(p, "opts", [])}
    assert set(FLAGS.values()) <= declared, set(FLAGS.values()) - declared
    groups = {"contract", "onnx", "verify", "quant", "engine"}
    fields = {f for f in ExportOptions.__dataclass_fields__ if f not in groups}
    assert fields <= set(FLAGS), fields - set(FLAGS)
