"""What the builder decides before TensorRT is involved: option checks, the no-TensorRT line, progress text."""

import importlib.util
import logging

import pytest

from edgeseg.engine.builder import BuildSettings, build_engine, check_settings, import_tensorrt
from edgeseg.engine.progress import PhaseTracker, build_progress
from edgeseg.errors import EdgesegError

HAS_TRT = importlib.util.find_spec("tensorrt") is not None


@pytest.mark.parametrize("kwargs,message", [
    ({"opt_level": 6}, "--opt-level must be 0..5"),
    ({"opt_level": -1}, "--opt-level must be 0..5"),
    ({"workspace_gb": 0}, "--workspace-gb must be a positive"),  # the field, as a library caller names it
    ({"dla_core": -1}, "--dla-core must be 0 or more"),
])
def test_settings_are_validated(kwargs, message):
    with pytest.raises(EdgesegError, match=message):
        check_settings(BuildSettings(**kwargs))


def test_settings_are_recorded_as_given():
    s = BuildSettings(device="jetson-orin", workspace_gb=2.0, opt_level=5, timing_cache="t.cache",
                      shapes="1x3x360x480", dla_core=1)
    assert s.to_dict() == {"device": "jetson-orin", "workspace_gb": 2.0, "opt_level": 5, "timing_cache": "t.cache",
                           "shapes": "1x3x360x480", "dla_core": 1, "runtime": None, "compute_capabilities": None,
                           "class_map": False}
    assert check_settings(s).runtime == "tensorrt"


@pytest.mark.parametrize("out,kwargs,message", [
    ("m.onnx2", {}, "must end in .engine or .plan"),
    ("m.engine", {"opt_level": 9}, "--opt-level must be 0..5"),
    ("m.engine", {"device": "nano"}, "unknown device profile 'nano'"),
    ("m.engine", {"shapes": "1x3x360x480:1x3x180x240:1x3x1024x2048"}, "min <= opt <= max"),
])
def test_bad_options_fail_before_tensorrt(tmp_path, tagged_onnx, out, kwargs, message):
    with pytest.raises(EdgesegError, match=message):
        build_engine(tagged_onnx, tmp_path / out, BuildSettings(**kwargs))
    assert not (tmp_path / out).exists()


def test_missing_model(tmp_path):
    with pytest.raises(EdgesegError, match="no such ONNX model"):
        build_engine(tmp_path / "absent.onnx", tmp_path / "m.engine")


@pytest.mark.skipif(HAS_TRT, reason="TensorRT is installed here")
def test_without_tensorrt_one_line_and_nothing_written(tmp_path, tagged_onnx):
    with pytest.raises(EdgesegError, match=r"TensorRT is not installed .* pip install 'edgeseg\[tensorrt\]'"):
        import_tensorrt()
    before = set(tmp_path.iterdir())
    with pytest.raises(EdgesegError, match="TensorRT is not installed"):
        build_engine(tagged_onnx, tmp_path / "m.engine", BuildSettings(timing_cache=str(tmp_path / "t.cache")))
    assert set(tmp_path.iterdir()) == before


def test_phase_tracker_follows_nested_phases():
    t = PhaseTracker()
    t.start("Building engine", 3)
    t.start("Tactic selection", 48)
    for step in range(12):
        t.step("Tactic selection", step)
    assert t.line() == "Building engine 0/3 › Tactic selection 12/48"
    t.finish("Tactic selection")
    t.step("Building engine", 0)
    t.step("unknown phase", 5)  # TensorRT may report phases that already finished
    assert t.line() == "Building engine 1/3"
    t.finish("Building engine")
    assert t.line() == ""


def test_progress_disabled_attaches_nothing():
    class Config:
        pass

    config = Config()
    with build_progress(None, config, "building", enabled=False) as state:
        assert not state.cancelled
    assert not hasattr(config, "progress_monitor")


def test_without_a_progress_monitor_the_label_is_shown(capsys, caplog):
    """TensorRT 8.6 has no IProgressMonitor: nothing is attached; in a log the label is one record."""
    from types import SimpleNamespace

    caplog.set_level(logging.INFO, logger="edgeseg")
    config = SimpleNamespace()
    with build_progress(SimpleNamespace(), config, "TensorRT 8.6: building m.engine", enabled=True) as state:
        assert state.monitor is None
    assert not hasattr(config, "progress_monitor")
    assert capsys.readouterr().out == ""  # progress never goes to stdout
    assert [r.getMessage() for r in caplog.records] == ["TensorRT 8.6: building m.engine ..."]


def test_monitor_reports_phases_and_stops_when_cancelled(caplog):
    """The IProgressMonitor adapter, on a stand-in for TensorRT's base class."""
    from types import SimpleNamespace

    caplog.set_level(logging.INFO, logger="edgeseg")
    config = SimpleNamespace(progress_monitor=None)
    with build_progress(SimpleNamespace(IProgressMonitor=object), config, "building", enabled=True) as state:
        monitor = config.progress_monitor
        assert monitor is state.monitor
        monitor.phase_start("Building engine", None, 2)
        monitor.phase_start("Tactic selection", "Building engine", 4)
        assert monitor.step_complete("Tactic selection", 0) is True
        assert state.tracker.line() == "Building engine 0/2 › Tactic selection 1/4"
        state.cancelled = True  # what Ctrl-C inside a callback sets
        assert monitor.step_complete("Tactic selection", 1) is False
        monitor.phase_finish("Tactic selection")
        monitor.phase_finish("Building engine")
    assert [r.getMessage() for r in caplog.records] == ["building ...", "  Building engine"]


def test_monitor_survives_what_tensorrt_would_swallow(capsys):
    """TensorRT prints and drops what a monitor callback raises, and cancels on any error in step_complete:
    Ctrl-C in any callback must become a cancel, a broken display must not stop the build."""
    from types import SimpleNamespace

    config = SimpleNamespace(progress_monitor=None)
    with build_progress(SimpleNamespace(IProgressMonitor=object), config, "building", enabled=True) as state:
        monitor = config.progress_monitor
        monitor.phase_start("Building engine", None, 2)
        state.tracker.active = None  # the tracker breaks: the display's error is not TensorRT's business
        monitor.phase_start("Tactic selection", "Building engine", 4)
        assert monitor.step_complete("Tactic selection", 0) is True and not state.cancelled
        state.tracker = PhaseTracker()

        def interrupted():
            raise KeyboardInterrupt

        state.tracker.start = lambda *a: interrupted()  # Ctrl-C lands while a phase starts
        monitor.phase_start("Timing", "Building engine", 3)
        assert state.cancelled and monitor.step_complete("Timing", 0) is False
    capsys.readouterr()
