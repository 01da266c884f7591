"""The one error type the library raises; only the CLI turns it into a message and exit 1."""


class EdgesegError(Exception):
    """A problem the user can fix (bad input, missing dependency, failed verification)."""


def require(module: str, extra: str):
    """Import an optional dependency or say which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EdgesegError(
            f"{module} is not installed ({exc}); install it with: pip install 'edgeseg[{extra}]'"
        ) from None
