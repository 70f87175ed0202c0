"""PerProcess: one object per process, made once however many threads ask, made anew after a fork."""

import os
import threading

import pytest

from playground.lib.per_process import PerProcess


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")  # the child only reads and writes a pipe
def test_made_once_for_every_thread_and_anew_after_a_fork():
    made = []
    holder = PerProcess(lambda: made.append(object()) or made[-1])
    got = []
    threads = [threading.Thread(target=lambda: got.append(holder.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and all(g is made[0] for g in got)

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new object, not the parent's
        try:
            os.write(write, b"new" if holder.get() is not made[0] and len(made) == 2 else b"same")
        finally:
            os._exit(0)
    os.close(write)
    answer = os.read(read, 10)
    os.waitpid(pid, 0)
    assert answer == b"new"
    assert holder.get() is made[0]  # the parent keeps its own
