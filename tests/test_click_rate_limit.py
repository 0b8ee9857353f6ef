"""The click rate limit's two homes: this process's memory, or a storage shared by every worker."""
from __future__ import annotations

import uuid

from limits import parse

from blueprints.soundboard import throttle
from blueprints.soundboard.throttle import InProcessWindows, SharedWindows
from tests.conftest import require_redis


def test_in_process_windows_count_per_address_and_reopen(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock[0])
    windows, three_a_minute = InProcessWindows(), parse("3/minute")
    assert [windows.hit(three_a_minute, "a")[0] for _ in range(4)] == [True, True, True, False]
    assert windows.hit(three_a_minute, "b") == (True, 0)  # every address has its own window
    clock[0] += 45
    assert windows.hit(three_a_minute, "a") == (False, 15)  # the window began with the first click
    clock[0] += 15
    assert windows.hit(three_a_minute, "a") == (True, 0)


def test_in_process_windows_forget_finished_windows(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock[0])
    windows, limit = InProcessWindows(), parse("5/second")
    for number in range(1000):
        windows.hit(limit, f"10.0.{number // 256}.{number % 256}")
    clock[0] += throttle.SWEEP_EVERY + 1
    windows.hit(limit, "10.9.9.9")
    assert len(windows._windows) == 1  # memory does not grow with every address ever seen


def test_shared_windows_are_one_count_for_every_process():
    url = require_redis()
    # Two limiters stand for two workers; a fresh address keeps runs apart.
    first, second = SharedWindows(url), SharedWindows(url)
    address, limit = f"test-{uuid.uuid4().hex}", parse("3/minute")
    results = [first.hit(limit, address)[0], second.hit(limit, address)[0], first.hit(limit, address)[0]]
    assert results == [True, True, True]
    allowed, retry_after = second.hit(limit, address)
    assert not allowed and 0 < retry_after <= 60
