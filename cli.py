"""Thin shim: `python cli.py ...` runs the same Typer app as the `edgeseg` console script."""

from edgeseg.cli.main import entry

if __name__ == "__main__":
    entry()
