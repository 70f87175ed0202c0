"""One object per process, made on first use: what a worker's threads share (a dispatcher, database
threads). Made anew after a fork, since threads and sockets do not survive one."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

__all__ = ["PerProcess"]

class PerProcess[T]:
    def __init__(self, make: Callable[[], T]):
        self._make = make
        self._value: T | None = None
        self._pid: int | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        with self._lock:
            if self._value is None or self._pid != os.getpid():
                self._value, self._pid = self._make(), os.getpid()
            return self._value
