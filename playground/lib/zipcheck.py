"""Checking a ZIP from its central directory before anything in it is read: what a prompt import
(prompts/transfer.py) and an evaluation-set import (evals/imports.py) both need.

    infos = zipcheck.check_members(zf, max_members=5000, max_total_bytes=2 << 30, max_ratio=200)

Refused, with a ZipRefused naming the member: a name that is not a plain relative path ("..",
absolute, a drive letter, a backslash, control characters), a symbolic link, an encrypted member,
the same name twice (after Unicode NFC), more members than allowed, more unpacked bytes than
allowed, and (with ``max_ratio``) a member compressed more than ``max_ratio`` times, as ZIP bombs
are. The sizes in the directory can lie: whoever extracts must still count the bytes it writes.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile

__all__ = ["ZipRefused", "check_members", "check_name"]

_DRIVE = re.compile(r"^[A-Za-z]:")


class ZipRefused(ValueError):
    """A ZIP, or one of its members, that is not read; the message says why, in plain words."""


def check_name(name: str) -> None:
    """Refuse a member name that is not a plain relative path inside the ZIP."""
    bare = name.rstrip("/")
    if (
        not bare
        or "\\" in name
        or name.startswith("/")
        or _DRIVE.match(name)
        or any(p in ("", ".", "..") for p in bare.split("/"))
        or any(ord(c) < 32 or c == "\x7f" for c in name)
    ):
        raise ZipRefused(f"{name!r} is not a plain relative path inside the ZIP (no '..', absolute paths or drive letters).")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB" if n >= 1024 * 1024 else f"{n / (1024 * 1024):g} MB"


def check_members(zf: zipfile.ZipFile, *, max_members: int, max_total_bytes: int, max_ratio: float | None = None,
                  ratio_floor: int = 1024 * 1024) -> list[zipfile.ZipInfo]:  # fmt: skip
    """The ZIP's members, in order, once each is known safe to extract. ``ratio_floor``: members
    that unpack to no more than this are not held to ``max_ratio`` (a small, very compressible
    text file is no bomb)."""
    infos = zf.infolist()
    if len(infos) > max_members:
        raise ZipRefused(f"The ZIP has {len(infos):,} members; at most {max_members:,} are read.")
    total = 0
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        check_name(name)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ZipRefused(f"{name}: the ZIP holds a symbolic link; only plain files are read.")
        if info.flag_bits & 0x1:
            raise ZipRefused(f"{name}: the member is encrypted.")
        if max_ratio is not None and info.file_size > ratio_floor and info.file_size > max_ratio * max(info.compress_size, 1):
            raise ZipRefused(
                f"{name}: compressed {info.file_size / max(info.compress_size, 1):,.0f} times, which is how a ZIP bomb "
                "looks; the ZIP is refused unopened."
            )
        key = unicodedata.normalize("NFC", name.rstrip("/"))
        if key in seen:
            raise ZipRefused(f"{name}: the ZIP holds this name twice.")
        seen.add(key)
        total += info.file_size
        if total > max_total_bytes:
            raise ZipRefused(f"The ZIP unpacks to more than {_mb(max_total_bytes)}; it is refused unopened.")
    return infos
