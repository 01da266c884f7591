"""The `edgeseg` console script: collects the command modules and owns error reporting."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

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
        if info.name.startswith("_") or info.name in {"main", "common"}:
            continue
        module = importlib.import_module(f"edgeseg.cli.{info.name}")
        module.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; library errors become one red line on stderr and exit code 1."""
    try:
        app(args=argv, standalone_mode=False)
    except EdgesegError as exc:
        _fail(str(exc))
        return 1
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130
    except SystemExit as exc:  # typer/click exits (--help, bad options)
        return int(exc.code or 0)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            _fail("aborted")
            return 1
        raise
    return 0


def _fail(message: str) -> None:
    line = " ".join(message.split())
    if sys.stderr.isatty():
        sys.stderr.write(f"\x1b[31merror:\x1b[0m {line}\n")
    else:
        sys.stderr.write(f"error: {line}\n")


def entry() -> None:
    sys.exit(main())
