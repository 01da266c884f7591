"""The one error type the library raises; only the CLI turns it into a message and exit 1."""


class EdgesegError(Exception):
    """A problem the user can fix (bad input, missing dependency, failed verification).

    The message is made printable: a file name that is not UTF-8 (kept by Python as lone
    surrogates) shows its odd bytes as \\xNN instead of failing to print.
    """

    def __init__(self, *args):
        super().__init__(*(printable(a) if isinstance(a, str) else a for a in args))


def printable(text: str) -> str:
    """`text` with undecodable bytes of file names (surrogate escapes) written as \\xNN."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def require(module: str, extra: str):
    """Import an optional dependency or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EdgesegError(
            f"{module} is not installed ({exc}); install it with: pip install 'edgeseg[{extra}]'"
        ) from None


def field(path: str) -> str:
    """A mark in an OptionError's message standing for the option at `path` (`quant.calib`); the
    caller decides how it reads (the CLI: its own flag; elsewhere `OptionError.render`'s default)."""
    return f"\0{path}\0"


class OptionError(EdgesegError):
    """An option that cannot work. Its message names options by field path (marked with `field`),
    so the library never spells a command line: whoever built the options names them back."""

    @property
    def fields(self) -> list[str]:
        """The field paths named, the first one being the option at fault."""
        return str(self.args[0]).split("\0")[1::2]

    def render(self, name=None) -> str:
        """The message with each field path named by `name(path)`; by default as a flag made from
        the field's name (`quant.fail_on_budget` -> `--fail-on-budget`): the one place that does."""
        name = name or self.default_name
        parts = str(self.args[0]).split("\0")
        return "".join(name(p) if i % 2 else p for i, p in enumerate(parts))

    def __str__(self) -> str:
        return self.render()

    @staticmethod
    def default_name(path: str) -> str:
        return "--" + path.rpartition(".")[2].replace("_", "-")
