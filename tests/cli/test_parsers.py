"""One parser per syntax (issue 29): HxW, ROOT[:SPLIT], B,G,R and comma lists are each read in one
place, which every command uses (through Typer's `parser=` where the value comes from a flag)."""

import ast
from pathlib import Path

import pytest

import edgeseg
from edgeseg.cli.common import parse_names, parse_size
from edgeseg.data.datasets import split_root
from edgeseg.errors import EdgesegError

ROOT = Path(edgeseg.__file__).parent

# (file, function) -> the syntax it reads, where a string is cut at ':' or 'x' for another syntax.
OWNERS = {
    ("cli/common.py", "parse_size"): "HxW",
    ("data/datasets.py", "split_root"): "ROOT[:SPLIT]",
    ("runtime/__init__.py", "parse_backend"): "BACKEND[:DEVICE] (openvino:GPU)",
    ("platform/hardware.py", "count_cores"): "lscpu's 'Key: value' lines",
    ("platform/hardware.py", "parse_nv_tegra_release"): "L4T's 'KEY: value' fields",
    ("fleet/cluster.py", "split_address"): "HOST:PORT",
    ("engine/shapes.py", "parse_shape"): "NxCxHxW (TensorRT shapes)",
}


def _cuts():
    """Every `.partition(':')`, `.rpartition(':')` and `.split('x')` in the package, by enclosing function."""
    for path in sorted(ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for node in ast.walk(fn):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
                        and isinstance(node.args[0], ast.Constant)
                        and (node.func.attr in ("partition", "rpartition") and node.args[0].value == ":"
                             or node.func.attr == "split" and node.args[0].value == "x")):
                    yield str(path.relative_to(ROOT)), fn.name


def test_each_syntax_has_one_reader():
    found = set(_cuts())
    strays = found - set(OWNERS)
    assert not strays, f"read HxW / ROOT[:SPLIT] with parse_size / split_root, not by hand: {sorted(strays)}"
    assert ("cli/common.py", "parse_size") in found and ("data/datasets.py", "split_root") in found


def test_split_root(tmp_path):
    assert split_root("/data/camvid:test") == ("/data/camvid", "test")
    assert split_root("/data/camvid") == ("/data/camvid", None)
    odd = tmp_path / "a:b"
    odd.mkdir()
    assert split_root(str(odd)) == (str(odd), None)  # a ':' in a folder that exists is no split
    with pytest.raises(EdgesegError):
        split_root("")


def test_size_and_names():
    assert parse_size("180x240") == (180, 240) and parse_size(None) is None
    with pytest.raises(EdgesegError, match="HxW"):
        parse_size("180by240")
    assert parse_names("cpu, jetson-orin,,") == ("cpu", "jetson-orin")


@pytest.mark.parametrize("command", [["export", "CKPT"], ["tune", "CKPT"], ["fleet", "tune", "CKPT", "--ray", "local"],
                                     ["fleet", "bench", "CKPT", "--ray", "local"], ["bench", "A"], ["eval", "A"]])
def test_the_calibration_root_is_spelled_the_same_everywhere(command):
    """--calib-data is the calibration root wherever a command takes one (export, tune, fleet tune,
    fleet bench); --data is the scored dataset (bench, eval, fleet bench) or, kept one release in
    export/tune/fleet tune, the old spelling of --calib-data (hidden)."""
    import click
    import typer.main

    from edgeseg.cli.main import app

    group = typer.main.get_command(app)
    ctx = click.Context(group)
    cmd = group
    for name in command:
        if not isinstance(cmd, click.Group):
            break
        cmd = cmd.get_command(ctx, name)
    opts = {o: p for p in cmd.params for o in getattr(p, "opts", [])}
    if "--calib" in opts:
        assert "--calib-data" in opts and opts["--calib-data"].name == "calib_data"
    if "--data" in opts and "--calib" in opts and opts["--data"].hidden:
        assert opts["--data"].name == "data"
