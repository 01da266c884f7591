"""Connecting to a Ray cluster: `local`, or a head's address checked to answer within seconds.

Ray's own connect retries for about a minute against an address nobody listens on; a plain
TCP connect with a short timeout first turns that into one line at once.

`local` is a private cluster for one command: its GCS, raylet, agents and workers listen on the
loopback address only. Ray binds its servers to loopback exactly when the node's IP is loopback,
and picks the LAN address on Linux unless its "no cluster" switch (the Windows/macOS default,
RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0) is set; that switch is all it changes.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from edgeseg.errors import EdgesegError, OptionError, field
from edgeseg.fleet.reaper import MARK, family, reap

logger = logging.getLogger(__name__)

RAY_MISSING = "Ray is not installed: install the fleet extra with: pip install 'edgeseg[fleet]'"
DEFAULT_PORT = 6379
CONNECT_TIMEOUT_S = 3.0
_LOOPBACK_SWITCH = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def import_ray(address: str | None = None):
    """The ray module, or one line naming the extra that installs it.

    For a remote `address`, token authentication is settled first: Ray reads it when imported.
    """
    if address not in (None, "local"):
        use_token_like_ray_start()
    if address == "local" and "ray" not in sys.modules:
        os.environ[_LOOPBACK_SWITCH] = "0"  # read once, when Ray is imported
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
        raise OptionError(f"{field('ray')} {address!r}: expected HOST:PORT of a Ray head (e.g. 192.168.1.10:6379) or 'local'")
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


# An HTTP/2 client preface and an empty SETTINGS frame: a Ray head (gRPC) answers with its SETTINGS.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_H2_SETTINGS = 0x04


def check_speaks_grpc(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse, within `timeout` seconds, a server at `address` that is not a gRPC (Ray GCS) server:
    Ray's own connect to one waits for minutes. Skipped for a TLS cluster (RAY_USE_TLS)."""
    if os.environ.get("RAY_USE_TLS", "0").lower() in ("1", "true"):
        return
    host, port = split_address(address)
    check_reachable(address, timeout)  # nothing listening: that refusal's words
    head, said = b"", "did not answer"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_H2_PREFACE)
            while len(head) < 9:
                chunk = sock.recv(9 - len(head))
                if not chunk:
                    said = "closed the connection"
                    break
                head += chunk
    except OSError as exc:
        said = "did not answer" if isinstance(exc, socket.timeout) else f"closed the connection ({exc.strerror or exc})"
    if len(head) == 9 and head[3] == _H2_SETTINGS:
        return
    if head:
        said = f"answered {head[:9]!r}"
    raise EdgesegError(f"{host}:{port} is not a Ray head: a server listens there but {said} as Ray's GCS "
                       f"(gRPC) would within {timeout:g} s; check the address and port (a Ray head's is "
                       f"{DEFAULT_PORT} by default, see `edgeseg fleet head`)")


def preflight(address: str) -> None:
    """Checks that cost nothing, made before a command loads models: Ray importable, head answering."""
    ray = import_ray(address)
    if address != "local" and not ray.is_initialized():
        check_speaks_grpc(address)


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
        check_speaks_grpc(address)
        kwargs = dict(address=address if "://" in address else "%s:%d" % split_address(address))
    import signal

    token = _mark() if address == "local" else None
    watcher = _watch(token)
    on_term = signal.getsignal(signal.SIGTERM)
    try:
        with _loopback_only(ray, address == "local"):
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
    if address == "local":
        _warn_unless_loopback(ray)
    try:
        yield ray
    finally:
        _stop(ray, token, watcher)


@contextmanager
def _loopback_only(ray, local: bool):
    """For `local`: Ray's node IP is loopback even when Ray was imported before import_ray('local')."""
    constants = getattr(getattr(ray, "_private", None), "ray_constants", None)
    if not local or constants is None or not hasattr(constants, "ENABLE_RAY_CLUSTER"):
        yield
        return
    before = constants.ENABLE_RAY_CLUSTER
    constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        constants.ENABLE_RAY_CLUSTER = before


def _warn_unless_loopback(ray) -> None:
    try:
        ip = ray.util.get_node_ip_address()
        loopback = ipaddress.ip_address(ip).is_loopback
    except Exception:  # an unknown Ray: nothing to check against
        return
    if not loopback:
        logger.warning("the private Ray cluster (--ray local) listens on %s, not loopback only: "
                       "other machines on that network can reach it while this command runs", ip)


def _mark() -> str:
    """A token every process of the private cluster inherits (edgeseg.fleet.reaper finds them by it)."""
    import secrets


    token = f"{os.getpid()}-{secrets.token_hex(6)}"
    os.environ[MARK] = token
    return token


def _stop(ray, token: str | None, watcher) -> None:
    """ray.shutdown(), then whatever of a private cluster is still running (Ray's agents outlive it)."""
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


    if token is None:
        return None
    env = {k: v for k, v in os.environ.items() if k != MARK}
    return subprocess.Popen([sys.executable, "-m", "edgeseg.fleet.reaper", str(os.getpid()), token], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
