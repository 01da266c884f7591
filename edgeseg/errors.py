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
