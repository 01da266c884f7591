"""Progress while TensorRT builds (minutes on a Jetson): phases and steps where TensorRT reports
them (IProgressMonitor, TensorRT >= 10), else a spinner with the elapsed time. On a terminal a
live line on stderr; in a log, records of the `edgeseg.engine.progress` logger.

Ctrl-C during a build is honoured: the monitor asks TensorRT to stop at the next step.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class PhaseTracker:
    """The builder's active phases (TensorRT nests them) and one status line for them."""

    active: dict[str, list[int]] = field(default_factory=dict)  # name -> [done, total], in start order

    def start(self, name: str, steps: int) -> None:
        self.active[name] = [0, max(int(steps), 1)]

    def step(self, name: str, step: int) -> None:
        if name in self.active:
            self.active[name][0] = min(int(step) + 1, self.active[name][1])

    def finish(self, name: str) -> None:
        self.active.pop(name, None)

    def line(self) -> str:
        return " › ".join(f"{name} {done}/{total}" for name, (done, total) in self.active.items())


@dataclass
class BuildState:
    tracker: PhaseTracker = field(default_factory=PhaseTracker)
    cancelled: bool = False
    monitor: object = None  # keeps the TensorRT monitor alive while the builder holds it


def _update(state: BuildState, change, on_change) -> None:
    """Apply one monitor event. TensorRT's Python monitor swallows whatever a callback raises (a Ctrl-C
    would be lost) and cancels the build on any error in step_complete, so Ctrl-C becomes a cancel here
    and a failing progress display is ignored instead of stopping the build."""
    try:
        change()
        on_change()
    except KeyboardInterrupt:
        state.cancelled = True
    except Exception:  # noqa: BLE001 - the display is cosmetic; the build must go on
        pass


def _monitor(trt, state: BuildState, on_change):
    class Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            _update(state, lambda: state.tracker.start(phase_name, num_steps), on_change)

        def step_complete(self, phase_name, step):
            _update(state, lambda: state.tracker.step(phase_name, step), on_change)
            return not state.cancelled

        def phase_finish(self, phase_name):
            _update(state, lambda: state.tracker.finish(phase_name), on_change)

    return Monitor()


def _attach(trt, config, state: BuildState, on_change) -> None:
    if hasattr(trt, "IProgressMonitor") and hasattr(config, "progress_monitor"):
        state.monitor = _monitor(trt, state, on_change)
        config.progress_monitor = state.monitor


@contextlib.contextmanager
def build_progress(trt, config, label: str, enabled: bool = True):
    """Attach a progress monitor to `config` (where TensorRT has one) and show it while building.

    On a terminal: a live line with the nested phases and elapsed time. In a log (not a
    terminal): the label, then one line per top-level phase as it starts.
    """
    state = BuildState()
    if not enabled:
        yield state
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if not sys.stderr.isatty():
        log.info("%s ...", label)
        seen: set[str] = set()

        def log_phase():
            top = next(iter(state.tracker.active), None)
            if top is not None and top not in seen:
                seen.add(top)
                log.info("  %s", top)

        _attach(trt, config, state, log_phase)
        yield state
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True, highlight=False), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def on_change():
            line = state.tracker.line()
            bar.update(task, description=f"{label} · {line}" if line else label)

        _attach(trt, config, state, on_change)
        yield state
