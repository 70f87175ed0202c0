"""One object per process, made on first use: what a worker's threads share (a dispatcher, database
threads). Made anew after a fork, since threads and sockets do not survive one."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable

__all__ = ["PerProcess"]

_all: weakref.WeakSet = weakref.WeakSet()


def _forget_all_in_child() -> None:
    for holder in list(_all):
        holder._value = None
        holder._lock = threading.Lock()  # a lock held by another thread at the fork stays held in the child


os.register_at_fork(after_in_child=_forget_all_in_child)


class PerProcess[T]:
    """``get()`` is called per request sent: no lock and no getpid() once made (a fork clears it)."""

    def __init__(self, make: Callable[[], T]):
        self._make = make
        self._value: T | None = None
        self._lock = threading.Lock()
        _all.add(self)

    def get(self) -> T:
        value = self._value
        if value is not None:
            return value
        with self._lock:
            if self._value is None:
                self._value = self._make()
            return self._value
