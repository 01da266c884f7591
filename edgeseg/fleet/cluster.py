"""Connecting to a Ray cluster: `local`, or a head's address checked to answer within seconds.

Ray's own connect retries for about a minute against an address nobody listens on; a plain
TCP connect with a short timeout first turns that into one line at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from edgeseg.errors import EdgesegError

logger = logging.getLogger(__name__)

RAY_MISSING = "Ray is not installed: install the fleet extra with: pip install 'edgeseg[fleet]'"
DEFAULT_PORT = 6379
CONNECT_TIMEOUT_S = 3.0


def import_ray(address: str | None = None):
    """The ray module, or one line naming the extra that installs it.

    For a remote `address`, token authentication is settled first: Ray reads it when imported.
    """
    if address not in (None, "local"):
        use_token_like_ray_start()
    try:
        import ray
    except ImportError:
        raise EdgesegError(RAY_MISSING) from None
    return ray


def split_address(address: str) -> tuple[str, int]:
    """'host', 'host:port' or 'ray://host:port' -> (host, port); bad text raises one line."""
    text = address.strip()
    if text.startswith("ray://"):
        text = text[len("ray://"):]
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = text, str(DEFAULT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise EdgesegError(f"--ray {address!r}: expected HOST:PORT of a Ray head (e.g. 192.168.1.10:6379) or 'local'")
    return host, int(port)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse an address where nothing accepts a TCP connection, within `timeout` seconds."""
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        why = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or type(exc).__name__).lower()
    raise EdgesegError(f"cannot reach a Ray head at {host}:{port} ({why}): start one there with "
                       f"`edgeseg fleet head` (or `ray start --head`), or check the address and firewall")


def preflight(address: str) -> None:
    """Checks that cost nothing, made before a command loads models: Ray importable, head answering."""
    ray = import_ray(address)
    if address != "local" and not ray.is_initialized():
        check_reachable(address)


def use_token_like_ray_start() -> None:
    """Turn on token authentication when a token is at hand, as `ray start` does for a head and
    its nodes; `ray.init(address=...)` alone would not, and a token-protected head then turns
    this driver away only after about 20 s of retries."""
    if "RAY_AUTH_MODE" in os.environ:
        return
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH") or \
            (Path.home() / ".ray" / "auth_token").exists():
        logger.info("a Ray token is present: connecting with RAY_AUTH_MODE=token")
        os.environ["RAY_AUTH_MODE"] = "token"


@contextmanager
def connected(address: str, *, cpus: int | None = None, resources: dict | None = None,
              labels: dict | None = None):
    """Yield the ray module connected to `address` ('local' starts a private cluster).

    A Ray session already open in this process is used as it is and left open (tests share
    one); a session opened here is shut down on exit, so no Ray process outlives the command.
    """
    ray = import_ray(address)
    if ray.is_initialized():
        yield ray
        return
    if address == "local":
        kwargs = dict(address="local", num_cpus=cpus, resources=resources or None, labels=labels or None)
    else:
        check_reachable(address)
        kwargs = dict(address=address if "://" in address else "%s:%d" % split_address(address))
    import signal

    token = _mark() if address == "local" else None
    watcher = _watch(token)
    on_term = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
    except Exception as exc:  # version mismatch, missing auth token, refused registration
        _stop(ray, token, watcher)
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise EdgesegError(f"cannot join the Ray cluster at {address}: {text[:400]} (a head with token "
                           "authentication needs RAY_AUTH_MODE=token and its token here: RAY_AUTH_TOKEN or "
                           "~/.ray/auth_token)") from None
    except BaseException:  # SIGTERM or Ctrl-C while the cluster starts: stop what was started
        _stop(ray, token, watcher)
        raise
    finally:
        if on_term is not None and signal.getsignal(signal.SIGTERM) is not on_term:
            with contextlib.suppress(ValueError):  # (only the main thread may set handlers)
                signal.signal(signal.SIGTERM, on_term)  # ray.init installs its own; ours stops the cluster cleanly
    try:
        yield ray
    finally:
        _stop(ray, token, watcher)


def _mark() -> str:
    """A token every process of the private cluster inherits (edgeseg.fleet.reaper finds them by it)."""
    import secrets

    from edgeseg.fleet.reaper import MARK

    token = f"{os.getpid()}-{secrets.token_hex(6)}"
    os.environ[MARK] = token
    return token


def _stop(ray, token: str | None, watcher) -> None:
    """ray.shutdown(), then whatever of a private cluster is still running (Ray's agents outlive it)."""
    from edgeseg.fleet.reaper import MARK, family, reap

    if watcher is not None:
        watcher.kill()
        watcher.wait()
    started = family(token) if token is not None else []
    ray.shutdown()
    reap(started)
    os.environ.pop(MARK, None)


def _watch(token: str | None):
    """A watcher process that stops the private cluster if the command is killed (edgeseg.fleet.reaper)."""
    import subprocess
    import sys

    from edgeseg.fleet.reaper import MARK

    if token is None:
        return None
    env = {k: v for k, v in os.environ.items() if k != MARK}
    return subprocess.Popen([sys.executable, "-m", "edgeseg.fleet.reaper", str(os.getpid()), token], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
