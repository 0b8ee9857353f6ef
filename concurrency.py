"""How this process runs requests: gevent greenlets (gunicorn.conf.py) or plain threads (the
development server, the test suite), and a way to keep CPU-heavy work off gevent's event loop."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def cooperative() -> bool:
    """True when gevent has patched threading: threads are greenlets sharing one OS thread."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("threading")


def run_off_loop(function: Callable[..., T], *args, **kwargs) -> T:
    """``function(*args, **kwargs)`` on a real OS thread when running under gevent, so decoding a
    50 MB upload or resizing an image never stalls the other connections of the worker; called
    directly otherwise (threaded servers already run it on the request's own thread)."""
    if not cooperative():
        return function(*args, **kwargs)
    import gevent

    return gevent.get_hub().threadpool.apply(function, args, kwargs)
