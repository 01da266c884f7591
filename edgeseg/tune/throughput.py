"""`objective throughput`: frames per second with several requests in flight, for an application
that serves many cameras (or a recorded backlog) rather than one frame as soon as it comes.

On OpenVINO the axis is the number of streams (`NUM_STREAMS` under `PERFORMANCE_HINT THROUGHPUT`):
each stream runs its own request on its share of the threads, so N streams trade each frame's
latency for frames per second. Each OpenVINO candidate still in the running is tried at each other
stream count (`name xNs`; the same file, so its accuracy is reused). Every candidate's throughput is
measured the way `run` feeds a runner: its own number of requests in flight (`async_depth`, the
streamed ones as many as OpenVINO finds optimal), each result's class map made on the host as it
is collected; interleaved rounds, the median of the rounds' rates.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from edgeseg.bench.accuracy import to_labels
from edgeseg.tune.candidates import Candidate
from edgeseg.tune.choose import accurate_enough

DEFAULT_STREAMS = (1, 2, 4)  # tried (up to the threads) when no stream counts are given


def stream_counts(streams: tuple[int, ...], threads: int) -> tuple[int, ...]:
    """The stream counts to try: those given, else DEFAULT_STREAMS up to `threads` (a stream needs
    at least one thread of its own)."""
    return tuple(streams) if streams else tuple(s for s in DEFAULT_STREAMS if s <= max(threads, 1))


def streamed(rows: list[dict], o, threads: int) -> list[Candidate]:
    """Each OpenVINO candidate still in the running (accurate enough; no stream count yet) at each
    stream count above 1 (one stream is the candidate itself)."""
    keep = [r for r in rows if r.get("backend") == "openvino" and r.get("miou") is not None
            and not r.get("streams") and accurate_enough(r, o.rule)]
    out = []
    for n in (n for n in stream_counts(o.streams, threads) if n > 1):
        out += [replace(Candidate.from_row(r), name=f"{r['name']} x{n}s", order=len(rows) + len(out) + i, streams=n)
                for i, r in enumerate(keep)]
    return out


def rate(runner, batch, frame, frames: int) -> float:
    """Frames per second of `frames` frames through `runner` with its `async_depth` in flight, each
    result's class map made at `frame` size as it is collected (what an application pays)."""
    pending = []
    t0 = time.perf_counter()
    for _ in range(frames):
        pending.append(runner.submit(batch))
        if len(pending) >= runner.async_depth:
            to_labels(pending.pop(0)()[0], frame)
    for result in pending:
        to_labels(result()[0], frame)
    return frames / (time.perf_counter() - t0)


def throughput(runners, batches, frame, protocol) -> list[float]:
    """Interleaved rounds over all runners, each round `iters` x depth frames per runner (after a
    warm-up round); per runner the median of the rounds' rates, frames/s."""
    for r, b in zip(runners, batches):
        rate(r, b, frame, max(protocol.warmup, 1) * r.async_depth)
    rates: list[list[float]] = [[] for _ in runners]
    for _ in range(protocol.rounds):
        for i, (r, b) in enumerate(zip(runners, batches)):
            rates[i].append(rate(r, b, frame, protocol.iters * max(r.async_depth, 1)))
    return [round(statistics.median(x), 3) for x in rates]
