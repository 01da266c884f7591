"""Progress while TensorRT builds (minutes on a Jetson): phases and steps where TensorRT reports
them (IProgressMonitor, TensorRT >= 10), else a spinner with the elapsed time. On a terminal a
live line on stderr; in a log, records of the `edgeseg.engine.progress` logger.

Ctrl-C during a build is honoured: while the builder runs, SIGINT only sets a flag (an exception
raised in a callback TensorRT calls from C++, its logger's or the monitor's, is printed and
dropped there); the monitor then asks TensorRT to stop at the next step, and the interrupt is
raised as the previous handler would once the builder has returned (`BuildState.reraise`).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
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
    interrupt: BaseException | None = None  # what a callback caught (Ctrl-C), re-raised after the build
    monitor: object = None  # keeps the TensorRT monitor alive while the builder holds it
    sigint: object = None  # the SIGINT handler the build deferred (called by reraise)

    def reraise(self) -> None:
        """After the builder returned: raise the Ctrl-C that came during the build, if one did."""
        if not self.cancelled:
            return
        if self.interrupt is not None:
            raise self.interrupt
        if callable(self.sigint):
            self.sigint(signal.SIGINT, None)
        raise KeyboardInterrupt


@contextlib.contextmanager
def _deferred_sigint(state: BuildState):
    """SIGINT sets `state.cancelled` instead of raising inside TensorRT's callbacks (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous in (signal.SIG_IGN, None):
        yield
        return

    def stop(signum, frame):
        state.cancelled = True

    state.sigint = previous
    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _update(state: BuildState, change, on_change) -> None:
    """Apply one monitor event. TensorRT's Python monitor swallows whatever a callback raises (a Ctrl-C
    would be lost) and cancels the build on any error in step_complete, so a Ctrl-C (KeyboardInterrupt,
    or the CLI's own BaseException) becomes a cancel here, kept to be re-raised once the builder has
    returned, and a failing progress display is ignored instead of stopping the build."""
    try:
        change()
        on_change()
    except Exception:  # noqa: BLE001 - the display is cosmetic; the build must go on
        pass
    except BaseException as exc:  # noqa: BLE001 - Ctrl-C, whatever its type: stop at the next step
        state.cancelled = True
        state.interrupt = state.interrupt or exc


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
    with _deferred_sigint(state):
        with _shown(trt, config, label, enabled, state):
            yield state


@contextlib.contextmanager
def _shown(trt, config, label: str, enabled: bool, state: BuildState):
    if not enabled:
        yield
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
        yield
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True, highlight=False), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def on_change():
            line = state.tracker.line()
            bar.update(task, description=f"{label} · {line}" if line else label)

        _attach(trt, config, state, on_change)
        yield
