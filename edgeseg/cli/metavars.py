"""What `--help` shows after each option: the value it takes (`HxW`, `ROOT`, `PATH`, `N`), not
Typer's type names (`<str>`, `<bool>`); flags show none. One rule for every command, so options
added later get a real metavar without each module spelling one out."""

from __future__ import annotations

# Options whose value has a shape worth naming; the rest by kind below.
NAMED = {"input-size": "HxW", "verify-size": "HxW", "data": "ROOT", "val": "ROOT[:SPLIT]", "split": "SPLIT|LIST",
         "device": "PROFILE", "backend": "BACKEND[:DEVICE]", "provider": "PROVIDER", "precision": "PRECISION",
         "dataset": "NAME", "variant": "VARIANT", "ray": "HEAD:PORT|local", "mean": "B,G,R", "std": "B,G,R",
         "compute-capability": "X.Y,...", "runtime": "RUNTIME", "format": "FORMAT", "simplifier": "NAME",
         "channel-order": "ORDER", "calib-method": "METHOD", "quant-preset": "PRESET", "placement": "PLACEMENT",
         "resize": "MODE", "address": "HEAD:PORT"}
PATHS = ("out", "output", "json", "md", "csv", "plot", "calib", "cache", "source", "samples", "config", "list")
BY_TYPE = {"int": "N", "float": "X", "list[int]": "N", "list[float]": "X"}  # Typer's type names


def metavar(option) -> str:
    name = max(option.opts, key=len).lstrip("-")
    if name in NAMED:
        return NAMED[name]
    if name in PATHS or name.endswith(PATHS):
        return "PATH"
    return BY_TYPE.get(option.bare_type(), "TEXT")


def apply(command) -> None:
    """Set every option's and argument's metavar in `command` (a Click command as Typer builds it,
    with its own copy of Click, hence duck-typed) and its subcommands."""
    for sub in getattr(command, "commands", {}).values():
        apply(sub)
    made = command.get_help_option  # --help is made per call, outside `params`

    def help_option(ctx):
        option = made(ctx)
        if option is not None:
            option.display_type_rich = lambda ctx: ""
        return option

    command.get_help_option = help_option
    for param in command.params:
        if param.param_type_name == "argument":
            param.metavar = param.metavar or param.name.upper()
            param.display_type_rich = lambda ctx: ""  # the name says it; `<list[str]>` does not
        elif param.param_type_name == "option" and param.metavar is None:
            if param.bare_type() == "bool":
                param.display_type_rich = lambda ctx: ""
            else:
                param.metavar = metavar(param)
