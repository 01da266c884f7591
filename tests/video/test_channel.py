"""The queue between stages: blocking for files, drop-oldest for live sources, never a hang."""

import threading

import pytest

from edgeseg.video.channel import END, Aborted, Channel


def test_drop_oldest_keeps_the_newest_and_counts_the_rest():
    ch = Channel(2, threading.Event(), drop_oldest=True)
    for i in range(5):
        ch.put(i)
    assert ch.dropped == [0, 1, 2] and ch.get() == 3 and ch.get() == 4


def test_a_blocked_put_ends_when_the_run_is_aborted():
    abort = threading.Event()
    ch = Channel(1, abort)
    ch.put(1)
    threading.Timer(0.2, abort.set).start()
    with pytest.raises(Aborted):
        ch.put(2)


def test_iteration_stops_at_end():
    ch = Channel(3, threading.Event())
    for item in (1, 2, END):
        ch.put(item)
    assert list(ch) == [1, 2]
