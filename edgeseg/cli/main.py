"""The `edgeseg` console script: collects the command modules and owns error reporting."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from edgeseg.cli import logs, metavars
from edgeseg.errors import EdgesegError

app = typer.Typer(
    name="edgeseg",
    help="Take trained S²-FPN segmentation checkpoints to the edge.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register_commands() -> None:
    # Each command module registers itself; no central list to edit when one is added.
    import edgeseg.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in {"main", "common", "logs", "metavars"}:
            continue
        module = importlib.import_module(f"edgeseg.cli.{info.name}")
        module.register(app)
    logs.add_verbosity(app)  # -v/-q after any command too, not only before it


def _version(value: bool) -> None:
    if value:
        import edgeseg

        typer.echo(f"edgeseg {edgeseg.__version__}")
        raise typer.Exit()


@app.callback()
def _root(verbose: bool = logs.VERBOSE, quiet: bool = logs.QUIET,
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Take trained S²-FPN segmentation checkpoints to the edge."""
    logs.set_verbosity(verbose, quiet)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors become one red line on stderr and exit code 1.

    Typer keeps its own handling of usage errors (exit 2) and --help. OS errors (a file that
    cannot be read or written, a full disk) and exhausted memory are one line too; Ctrl-C
    says "interrupted" and exits 130, also inside a long ONNX Runtime or PyTorch call.
    """
    import signal

    from edgeseg.filesystem import describe_os_error

    logs.configure()
    previous = signal.signal(signal.SIGINT, _interrupt)
    previous_term = signal.signal(signal.SIGTERM, _terminate)  # `kill PID`: clean up as for Ctrl-C
    try:
        command = typer.main.get_command(app)
        metavars.apply(command)
        command.main(args=argv, standalone_mode=True, prog_name="edgeseg")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except EdgesegError as exc:
        _fail(str(exc))
        return 1
    except Terminated:
        _fail("terminated")
        return 143
    except (Interrupted, KeyboardInterrupt):
        _fail("interrupted")
        return 130
    except OSError as exc:
        _fail(describe_os_error(exc))
        return 1
    except SystemError as exc:  # a signal raised inside a C extension call (ray.wait): "returned a result
        signal_exc = _signal_behind(exc)  # with an exception set"; the signal is what happened
        if signal_exc is None:
            raise
        _fail("terminated" if isinstance(signal_exc, Terminated) else "interrupted")
        return 143 if isinstance(signal_exc, Terminated) else 130
    except MemoryError:
        _fail("out of memory; use a smaller --input-size or batch, or fewer images at once")
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
    return 0


class Interrupted(BaseException):
    """Ctrl-C. Not a KeyboardInterrupt: Typer would turn that into a silent exit 130."""


class Terminated(Interrupted):
    """SIGTERM: ends the command as Ctrl-C does (temporaries removed, a private Ray cluster stopped)."""


def _signal_behind(exc: BaseException) -> "Interrupted | None":
    seen = exc.__context__ or exc.__cause__
    while seen is not None and not isinstance(seen, Interrupted):
        seen = seen.__context__ or seen.__cause__
    return seen


def _interrupt(signum, frame):
    raise Interrupted()


def _terminate(signum, frame):
    raise Terminated()


def _fail(message: str) -> None:
    line = " ".join(message.split())
    if sys.stderr.isatty():
        sys.stderr.write(f"\x1b[31merror:\x1b[0m {line}\n")
    else:
        sys.stderr.write(f"error: {line}\n")


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
