import pytest

from edgeseg.data.loader import prefetch


def test_order_kept_and_errors_surface_at_their_item():
    assert list(prefetch(range(10), lambda i: i * i)) == [i * i for i in range(10)]

    def work(i):
        if i == 3:
            raise ValueError("bad item 3")
        return i

    seen = []
    with pytest.raises(ValueError, match="bad item 3"):
        for v in prefetch(range(10), work):
            seen.append(v)
    assert seen == [0, 1, 2]


def test_consumer_stopping_early_does_not_hang():
    gen = prefetch(range(1000), lambda i: i, depth=2)
    assert next(gen) == 0
    gen.close()
