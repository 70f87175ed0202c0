"""Where stored bytes live: the local media folder (the embedded default) or an S3-compatible
bucket (team scale, django-storages' S3Storage), behind a few functions that only StoredFile and
services call. Nothing else needs to know which storage is in use.

With the bucket, whatever needs a real file (decoders, variants, base64 text for request bodies,
ZIP exports) gets a copy in this machine's cache folder (PRISM_MEDIA_CACHE_DIR). Entries are
named by the sha256 of their content, so a cached copy is never stale and machines never need to
agree on anything; each is written to a temporary name and renamed, so a reader never sees half
a file, and a download whose bytes do not hash to their name is refused. Past
PRISM_MEDIA_CACHE_MB the least recently used entries are evicted: a use sets an entry's access
time (explicitly, so noatime mounts do not matter), its modification time stays when it was written.
"""

import hashlib
import logging
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
# An entry used this recently is never evicted: a caller may be about to open the path it was given.
EVICT_GRACE_S = 300
# Leftovers of a download killed midway; a live download renews its file's mtime with every chunk.
STALE_TEMP_S = 3600


def is_local() -> bool:
    """True for the local media folder (FileSystemStorage): every blob is a file already."""
    return isinstance(default_storage, FileSystemStorage)


def local_file(name: str) -> Path:
    """The blob's own file in the media folder (local storage only)."""
    return Path(default_storage.path(name))


def _bucket():
    """(boto3 S3 client, bucket name) of the default storage: django-storages keeps one per thread."""
    return default_storage.connection.meta.client, default_storage.bucket_name


def _key(name: str) -> str:
    location = (default_storage.location or "").strip("/")
    return f"{location}/{name}" if location else name


def _missing(exc) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


def exists(name: str) -> bool:
    return default_storage.exists(name)


def put(path: Path, name: str, *, sha256: str, mime_type: str) -> None:
    """Store the file at path under name. Local: hard-linked (same filesystem) or copied into
    place, atomically. Bucket: uploaded in parts from the file (never read into memory whole),
    and this machine's cache seeded with the file, so work that follows here needs no download."""
    if is_local():
        target = local_file(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            _link_or_copy(path, target)
        return
    client, bucket = _bucket()
    # Private like the bucket: no ACL is sent, so the bucket's own (no public access) applies.
    client.upload_file(str(path), bucket, _key(name), ExtraArgs={"ContentType": mime_type})
    try:
        _link_or_copy(path, cache_path(sha256))
    except OSError as exc:  # a cache is a nicety; the bucket has the bytes
        log.warning("could not cache %s locally: %s", sha256[:12], exc)
    evict()


def _link_or_copy(path: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")  # unique per writer
    try:
        os.link(path, staging)  # same filesystem: no copy
    except OSError:
        shutil.copyfile(path, staging)
    os.replace(staging, target)  # atomic: readers never see a half-written file


def delete(name: str) -> None:
    """Delete the blob (and, locally, its .b64 sidecar); a blob already gone is not an error."""
    if is_local():
        for each in (name, name + ".b64"):
            if default_storage.exists(each):
                default_storage.delete(each)
        return
    default_storage.delete(name)  # S3 DELETE succeeds for a missing key too


# --- reading --------------------------------------------------------------------------------------


def open_range(name: str, start: int = 0, end: int | None = None):
    """A readable binary stream of bytes start..end (inclusive) of the blob, streamed from the
    bucket (never all in memory), or the local file seeked to start. FileNotFoundError if gone."""
    if is_local():
        handle = open(local_file(name), "rb")  # noqa: SIM115 - the caller closes it
        handle.seek(start)
        return handle
    from botocore.exceptions import ClientError

    client, bucket = _bucket()
    ranged = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
    try:
        return client.get_object(Bucket=bucket, Key=_key(name), **ranged)["Body"]
    except ClientError as exc:
        if _missing(exc):
            raise FileNotFoundError(f"{name} is not in the bucket") from None
        raise


def signed_url(name: str, *, mime_type: str, disposition: str, cache_seconds: int) -> str:
    """A presigned GET of the blob, valid PRISM_S3_URL_EXPIRE_S seconds, with the content type,
    disposition and caching forced by the query string (S3's response-* overrides)."""
    client, bucket = _bucket()
    cache = f"private, max-age={min(cache_seconds, settings.PRISM_S3_URL_EXPIRE_S)}" if cache_seconds else "private, no-cache"
    return client.generate_presigned_url(
        "get_object",
        Params={"Bucket": bucket, "Key": _key(name), "ResponseContentType": mime_type,
                "ResponseContentDisposition": disposition, "ResponseCacheControl": cache},
        ExpiresIn=settings.PRISM_S3_URL_EXPIRE_S,
    )


# --- this machine's cache of bucket objects ---------------------------------------------------------


def cache_root() -> Path:
    return Path(settings.PRISM_MEDIA_CACHE_DIR)


def cache_path(sha256: str, suffix: str = "") -> Path:
    return cache_root() / sha256[:2] / f"{sha256}{suffix}"


def touch(path: Path) -> bool:
    """Mark a cache entry used now (its access time); False if it is not there."""
    try:
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
        return True
    except FileNotFoundError:
        return False


def cached_copy(name: str, sha256: str) -> Path:
    """A local file holding the blob's bytes: the cached copy, or downloaded now (checked against
    sha256). FileNotFoundError if the bucket has no such object."""
    target = cache_path(sha256)
    if touch(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    digest = hashlib.sha256()
    try:
        body = open_range(name)
        try:
            with open(staging, "wb") as out:
                for chunk in body.iter_chunks(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        finally:
            body.close()
        if digest.hexdigest() != sha256:
            raise OSError(f"The bucket's copy of {name} does not match its sha256; not used.")
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    evict()
    return target


def write_atomically(target: Path, chunks) -> Path:
    """Write chunks to target through a temporary name in the same folder, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(staging, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(staging, target)
    finally:
        staging.unlink(missing_ok=True)
    return target


@dataclass
class Evicted:
    files: int
    bytes: int
    kept_bytes: int


def evict(limit_bytes: int | None = None, *, grace_s: float = EVICT_GRACE_S) -> Evicted:
    """Delete least recently used cache entries until the cache is within 90% of its limit
    (PRISM_MEDIA_CACHE_MB), sparing entries used in the last grace_s seconds; also delete
    temporary files of downloads killed midway."""
    limit = settings.PRISM_MEDIA_CACHE_MB * 1024 * 1024 if limit_bytes is None else limit_bytes
    now = time.time()
    entries, total, evicted = [], 0, Evicted(0, 0, 0)
    for folder in _subfolders(cache_root()):
        for entry in _scan(folder):
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if entry.name.endswith(".tmp"):
                if st.st_mtime < now - STALE_TEMP_S:
                    _unlink(entry.path)
                continue
            entries.append((st.st_atime, st.st_size, entry.path))
            total += st.st_size
    if total > limit:
        goal = int(limit * 0.9)
        for used, size, path in sorted(entries):
            if total <= goal or used > now - grace_s:
                break
            if _unlink(path):
                total -= size
                evicted.files += 1
                evicted.bytes += size
    evicted.kept_bytes = total
    return evicted


def forget(sha256: str) -> None:
    """Drop this machine's cached copies of a blob that was deleted."""
    for suffix in ("", ".b64"):
        _unlink(cache_path(sha256, suffix))


def _subfolders(root: Path):
    return [e.path for e in _scan(root) if e.is_dir(follow_symlinks=False)]


def _scan(folder) -> list:
    try:
        return list(os.scandir(folder))
    except FileNotFoundError:
        return []


def _unlink(path) -> bool:
    try:
        os.unlink(path)
        return True
    except FileNotFoundError:
        return False
