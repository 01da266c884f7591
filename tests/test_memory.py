"""The memory estimate grows with pixels, and a run above the limit is refused with both numbers."""

import pytest

from edgeseg import memory
from edgeseg.errors import EdgesegError


@pytest.fixture(autouse=True)
def no_limit():
    yield
    memory.set_limit_gb(None)


def test_estimate_scales_with_pixels_and_batch():
    small = memory.estimate_bytes("s2fpn18", (360, 480))
    assert memory.estimate_bytes("s2fpn18", (720, 960)) - small == pytest.approx(3 * (small - memory._table()["s2fpn18"]["base_bytes"]), rel=1e-6)
    assert memory.estimate_bytes("s2fpn18", (360, 480), batch=2) > small
    assert memory.estimate_bytes("s2fpn18", (360, 480), export=True) == memory.EXPORT_FACTOR * small
    # unknown variant: the hungriest that detection yields (not 34M, chosen only with --variant)
    assert memory.estimate_bytes(None, (360, 480)) >= memory.estimate_bytes("s2fpn34", (360, 480))
    assert memory.estimate_bytes(None, (360, 480)) < memory.estimate_bytes("s2fpn34m", (360, 480))


def test_limit_refuses_with_estimate_and_limit():
    memory.set_limit_gb(1.0)
    memory.check_fits("s2fpn18", (360, 480))
    with pytest.raises(EdgesegError, match=r"inference at 10000x10000 needs about \d+\.\d GB \(s2fpn18\), more than "
                                           r"the --max-memory-gb limit \(1\.0 GB\)"):
        memory.check_fits("s2fpn18", (10000, 10000))
    memory.set_limit_gb(1000.0)
    memory.check_fits("s2fpn18", (10000, 10000))  # raised on purpose: allowed
    with pytest.raises(EdgesegError, match="must be > 0"):
        memory.set_limit_gb(-1)


def test_fit_within_keeps_the_aspect():
    assert memory.fit_within((180, 240), (360, 480)) == (180, 240)
    h, w = memory.fit_within((8000, 8000), (360, 480))
    assert h == w and h * w <= 360 * 480


def test_only_the_process_owner_sets_the_limit():
    """Issue 29: the memory limit is a setting of whoever owns the process (a CLI command), applied
    before the library runs; no check in the library sets it as a side effect."""
    import ast
    from pathlib import Path

    import edgeseg

    root = Path(edgeseg.__file__).parent
    callers = sorted(str(p.relative_to(root)) for p in root.rglob("*.py") if p.name != "memory.py"
                     for node in ast.walk(ast.parse(p.read_text()))
                     if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None))
                     == "set_limit_gb")
    assert callers and all(c.startswith("cli/") for c in callers), callers
