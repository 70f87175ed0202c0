"""Decode untrusted files in a child process with a memory and a time limit.

No Django here (like identify.py, pictures.py and variants.py): callers pass the limits.

A file that is small on disk can expand enormously when decoded (a PDF page whose content stream
is 1 MB of Flate holding 1 GiB of spaces, a 100-megapixel PNG of zeros). Decoding it inside a web
or worker process would let one upload take that process's memory and time. So each check runs
in a child process that sets ``RLIMIT_AS`` (how much address space it may add) and
``RLIMIT_CPU`` on itself before it decodes anything; the parent waits with a wall-clock deadline
and kills it when that passes. A child that runs out of memory, crashes or is killed becomes
:class:`LimitExceeded`, which callers turn into a refusal with a reason.

The children are forked from a small server process, started once per parent process with
``subprocess`` (so it is a fresh, single-threaded interpreter), that has already imported the
decoders (PyAV, Pillow, pypdfium2): a check costs one fork (~10 ms), not a new interpreter.
Forking the caller itself would be unsafe: gunicorn's worker has threads, and a forked copy of a
threaded process can deadlock on a lock another thread held. (multiprocessing's "forkserver"
does the same, but refuses to start from Celery's daemonic pool processes, whose billiard
process object it cannot even pickle.)

Protocol: the parent sends the server one end of a new socket pair; the server forks; the child
writes its pid, reads one pickled job ``(func, args, kwargs, max_mb, timeout_s)``, applies the
limits, runs it and writes one pickled ``(status, value)`` back, then exits.
"""

from __future__ import annotations

import math
import os
import pickle
import resource
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from PIL import Image

from .identify import MediaInfo, MediaRejected, inspect_file, sniff_mime
from .pictures import make_thumbnail

# Registering Pillow's plugins takes ~40 ms; done here, the server does it once for all children.
Image.init()

__all__ = ["LimitExceeded", "run", "check_media", "what_it_is", "refusal", "warm_up", "DEFAULT_MAX_MB", "DEFAULT_TIMEOUT_S"]

DEFAULT_MAX_MB = 1024
DEFAULT_TIMEOUT_S = 30

_MB = 1024 * 1024
_LEN = struct.Struct("!Q")


class LimitExceeded(Exception):
    """The child went over a limit. ``reason`` is "memory" or "time"."""

    def __init__(self, reason: str, max_mb: int, timeout_s: float):
        super().__init__(reason)
        self.reason = reason
        self.max_mb = max_mb
        self.timeout_s = timeout_s


# --- the parent's side -------------------------------------------------------------------------

_server_lock = threading.Lock()
_server: tuple[int, subprocess.Popen, socket.socket] | None = None  # (pid it belongs to, process, control)


def _control() -> socket.socket:
    """The control socket of this process's server, starting the server if need be (again after
    a fork: a server belongs to the process that started it)."""
    global _server
    if _server is not None and _server[0] == os.getpid() and _server[1].poll() is None:
        return _server[2]
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    process = subprocess.Popen(
        [sys.executable, "-c", f"from playground.uploads.sandbox import _serve; _serve({theirs.fileno()})"],
        pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True,
    )  # stdout closed: `out=$(manage.py seed_demo)` must not wait for the server
    theirs.close()
    _server = (os.getpid(), process, ours)
    return ours


def _forget_server() -> None:
    global _server
    if _server is not None:
        _server[2].close()
        if _server[0] == os.getpid():
            _server[1].kill()
            _server[1].wait()
    _server = None


def warm_up() -> None:
    """Start the server now (it takes ~0.3 s to import the decoders), not at the first upload."""
    run(_nothing, max_mb=DEFAULT_MAX_MB, timeout_s=60)


def _nothing() -> None:
    return None


def _recv_exactly(sock: socket.socket, n: int, deadline: float) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            return None  # the child is gone
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run(func, *args, max_mb: int, timeout_s: float, **kwargs):
    """``func(*args, **kwargs)`` in a child limited to ``max_mb`` more megabytes of memory and
    ``timeout_s`` seconds; its return value, or its exception raised here. ``func`` and its
    arguments must pickle (module-level functions, plain data).

    Raises LimitExceeded when the child runs out of memory, is killed at the deadline, or dies.
    """
    job = pickle.dumps((func, args, kwargs, max_mb, timeout_s))
    mine, childs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = None
    message = None
    deadline = time.monotonic() + timeout_s + 5  # the fork itself gets a few seconds
    try:
        with _server_lock:
            try:
                socket.send_fds(_control(), [b"j"], [childs.fileno()])
            except OSError:  # the server died (killed, out of memory): start another
                _forget_server()
                socket.send_fds(_control(), [b"j"], [childs.fileno()])
        childs.close()
        raw = _recv_exactly(mine, 4, deadline)
        if raw is None:
            raise RuntimeError("The decoding sandbox could not start a process.")
        pid = struct.unpack("!i", raw)[0]
        mine.sendall(job)
        mine.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout_s
        header = _recv_exactly(mine, _LEN.size, deadline)
        if header is not None:
            body = _recv_exactly(mine, _LEN.unpack(header)[0], deadline + 60)  # a big result takes a moment
            message = pickle.loads(body) if body is not None else None
        timed_out = False
    except TimeoutError:
        timed_out = True
    finally:
        if pid is not None and message is None:
            _kill(pid)  # at the deadline, or already dead: either way, never left running
        mine.close()
    if message is None:
        if timed_out:
            raise LimitExceeded("time", max_mb, timeout_s)
        # A child that dies without a word under RLIMIT_AS (an abort or segfault after a failed
        # allocation in C/C++ code, or SIGXCPU) is treated as running out of its limits.
        raise LimitExceeded("memory", max_mb, timeout_s)
    status, value = message
    if status == "ok":
        return value
    if status == "memory":
        raise LimitExceeded("memory", max_mb, timeout_s)
    raise value


# --- the server and its children -----------------------------------------------------------------


def _serve(control_fd: int) -> None:
    """Fork a child for each socket the parent sends; exit when the parent goes away."""
    import playground.uploads.variants  # noqa: F401  (preloaded for the children, like identify and pictures)

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which closes the control socket
    control = socket.socket(fileno=control_fd)
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(control, 1, 1)
        except InterruptedError:
            continue
        if not msg:
            os._exit(0)
        for fd in fds:
            pid = os.fork()
            if pid == 0:
                control.close()
                _child(fd)  # never returns
            os.close(fd)


def _address_space() -> int | None:
    """Bytes of address space this process maps now (Linux), or None if unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _apply_limits(max_mb: int, timeout_s: float) -> None:
    # The budget is on top of what the child already maps (the preloaded libraries, mostly
    # shared with the server), so max_mb is what decoding itself may use.
    base = _address_space()
    if base is not None:
        limit = base + max_mb * _MB
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A backstop for a child whose parent was killed: the parent's wall-clock deadline is the
    # real bound, and comes first even when the decoder's threads use every core.
    cpu = max(1, math.ceil(timeout_s)) * (os.cpu_count() or 1) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))


def _child(fd: int) -> None:
    code = 0
    try:
        sock = socket.socket(fileno=fd)
        sock.sendall(struct.pack("!i", os.getpid()))
        chunks = []
        while chunk := sock.recv(1 << 20):
            chunks.append(chunk)
        try:
            func, args, kwargs, max_mb, timeout_s = pickle.loads(b"".join(chunks))
            _apply_limits(max_mb, timeout_s)
            message = ("ok", func(*args, **kwargs))
        except MemoryError:
            message = ("memory", None)
        except Exception as exc:  # e.g. MediaRejected, VariantError: raised again in the parent
            message = ("error", exc)
        try:
            data = pickle.dumps(message)
        except MemoryError:
            data = pickle.dumps(("memory", None))
        except Exception as exc:  # an exception that does not pickle: send its text
            data = pickle.dumps(("error", RuntimeError(f"{type(exc).__name__}: {message[1]!r}"[:2000])))
        sock.sendall(_LEN.pack(len(data)) + data)
        sock.close()
    except BaseException:
        code = 1
    finally:
        os._exit(code)


# --- checking an upload -------------------------------------------------------------------------


def _inspect_and_thumbnail(path: str, max_image_pixels: int, thumbnail_edge: int):
    info = inspect_file(path, max_image_pixels=max_image_pixels)
    try:
        thumbnail = make_thumbnail(path, info, max_edge=thumbnail_edge)
        problem = ""
    except MemoryError:
        raise  # a bomb that only goes off when drawn (a PDF page) is refused like any other
    except Exception as exc:  # the file decoded; a thumbnail is a nicety
        thumbnail, problem = None, f"{type(exc).__name__}: {exc}"[:2000]
    return info, thumbnail, problem


def what_it_is(path) -> str:
    """"PDF", "image", "audio file", "video" or "file", from the first bytes (for messages)."""
    try:
        with open(path, "rb") as f:
            mime = sniff_mime(f.read(4096)) or ""
    except OSError:
        mime = ""
    if mime == "application/pdf":
        return "PDF"
    return {"image": "image", "audio": "audio file", "video": "video"}.get(mime.split("/")[0], "file")


def refusal(exc: LimitExceeded, what: str) -> str:
    if exc.reason == "time":
        return f"This {what} took longer than {exc.timeout_s:g} s to check, so it was not accepted."
    return (
        f"This {what} needs more than {exc.max_mb} MB of memory to open, so it was not accepted "
        "(it may be a decompression bomb)."
    )


def check_media(
    path, *, max_image_pixels: int, thumbnail_edge: int = 320, max_mb: int = DEFAULT_MAX_MB,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> tuple[MediaInfo, bytes | None, str]:
    """inspect_file + make_thumbnail under the limits: (info, thumbnail WebP bytes or None, why
    there is no thumbnail). Raises MediaRejected with the reason, including a limit exceeded."""
    path = str(Path(path))
    try:
        return run(_inspect_and_thumbnail, path, max_image_pixels, thumbnail_edge, max_mb=max_mb, timeout_s=timeout_s)
    except LimitExceeded as exc:
        raise MediaRejected(refusal(exc, what_it_is(path))) from None
