"""Importing a ZIP of media with a manifest into an evaluation set, and exporting a set back.

The archive (untrusted)
    Checked from its central directory before anything is read: at most MAX_MEMBERS members and
    MAX_TOTAL_BYTES unpacked; names must be plain relative paths (no "..", no absolute path, no
    drive letter, no backslash or control character); symbolic links (external_attr), encrypted
    members and members compressed more than MAX_RATIO times (past 1 MiB) are refused, and so is
    the whole archive then. Members are read one at a time, streamed to a temporary file with the
    bytes counted as they come (headers can lie), never held in memory. ZIPs inside the ZIP are
    ignored (a row naming one is an error).

The manifest
    manifest.jsonl or manifest.csv at the top (else the only .jsonl/.csv at the top; with none,
    every media file is one case with a blank expected answer). Keys/columns: ``file`` (or
    ``files``: several, separated by ``|`` or a JSON list), ``expected``, optional ``kind`` (text,
    label, number, json; blank = the set's; a media kind such as "image" is accepted and ignored,
    since the decoder finds that), ``tags`` (``;``-separated or a list), and any other
    key → a case field (text). Rows are numbered as an editor shows them: a JSONL row is its line,
    a CSV row its spreadsheet row (the header is row 1).

All or nothing for the manifest, row by row for media
    Every row is validated first; if any row is invalid the import is refused with every row's
    error and nothing is added. Then each row's files go through the library's checks
    (uploads.services.add_path: decoded in the sandbox, deduplicated by content); a file the
    decoder refuses makes that row an error and the other rows are still added. Cases are created
    in batches, each with the import's progress in the same transaction, so a task that dies and
    is sent again resumes after the last batch without doubling any case.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
import time
import unicodedata
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from playground.evals import services
from playground.evals.models import EvalImport, EvalSet
from playground.evals.upload_handlers import zip_max_bytes, zip_max_mb
from playground.lib import jsonlimits, zipcheck
from playground.prompts.transfer import safe_file_name
from playground.uploads import services as media
from playground.uploads.identify import MediaRejected
from playground.uploads.models import StoredFile

log = logging.getLogger(__name__)

MAX_MEMBERS = 20_000  # a set of thousands of cases is normal; a million tiny members is a bomb
MAX_TOTAL_BYTES = 8 * 1024**3  # unpacked, all members together
MAX_RATIO = 100  # uncompressed / compressed, for members past RATIO_FLOOR (photos and audio barely compress)
RATIO_FLOOR = 1024 * 1024
MAX_MANIFEST_BYTES = 20 * 1024 * 1024
MANIFEST_NAMES = ("manifest.jsonl", "manifest.csv")
BATCH = 50  # rows per transaction (cases + progress)
MAX_THREADS = 4  # files checked at once (each in its own sandboxed child process)
SLICE_S = 120  # a task works this long, then queues its continuation (under CELERY_TASK_SOFT_TIME_LIMIT)
MEDIA_EXTENSIONS = {
    "png", "jpg", "jpeg", "gif", "webp", "heic", "heif", "tif", "tiff", "bmp", "wav", "mp3", "flac", "ogg", "oga",
    "opus", "m4a", "aac", "webm", "mp4", "mov", "mkv", "avi", "pdf",
}
MEDIA_KINDS = {"image", "audio", "video", "pdf"}
KNOWN_KEYS = {"file", "files", "expected", "kind", "tags"}


class ImportRefused(Exception):
    """The whole archive is refused; str(exc) says why. errors: per-row errors, when that is why."""

    def __init__(self, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.errors = errors or []


# --- the archive ----------------------------------------------------------------------------------


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):,.0f} MB"


def check_archive(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's files by (NFC) name, once every member is known safe (lib/zipcheck.py). Raises ImportRefused."""
    try:
        infos = zipcheck.check_members(zf, max_members=MAX_MEMBERS, max_total_bytes=MAX_TOTAL_BYTES,
                                       max_ratio=MAX_RATIO, ratio_floor=RATIO_FLOOR)  # fmt: skip
    except zipcheck.ZipRefused as exc:
        raise ImportRefused(str(exc)) from None
    return {unicodedata.normalize("NFC", info.filename): info for info in infos if not info.is_dir()}


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A small member (the manifest) read whole, bounded by limit."""
    with zf.open(info) as src:
        data = src.read(limit + 1)
    if len(data) > limit:
        raise ImportRefused(f"{info.filename} is larger than {_mb(limit)}.")
    return data


def extract_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> Path:
    """Stream one member to a file under dest, counting bytes. Raises MediaRejected when it is
    larger than the upload limit (whatever its header says)."""
    limit = settings.MAX_UPLOAD_BYTES
    if info.file_size > limit:
        raise MediaRejected(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
    target = dest / f"m{info.header_offset}"
    copied = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1 << 20):
                copied += len(chunk)
                if copied > limit or copied > info.file_size:
                    raise MediaRejected("The file unpacks to more than the ZIP says (or past the upload limit); refused.")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
        # zipfile stops at the size the header gives and then checks the CRC: a lying header lands here.
        target.unlink(missing_ok=True)
        raise MediaRejected(f"The file is damaged in the ZIP: {exc}") from None
    return target


# --- the manifest ----------------------------------------------------------------------------------


@dataclass
class Row:
    number: int  # as an editor shows it (see the module docstring)
    files: list[str]
    expected: Any
    kind: str
    tags: list[str]
    fields: dict[str, str]


@dataclass
class Manifest:
    name: str  # the manifest member's name, "" when there is none
    rows: list[Row] = field(default_factory=list)


def find_manifest(files: dict[str, zipfile.ZipInfo]) -> str:
    top = [n for n in files if "/" not in n]
    for name in MANIFEST_NAMES:
        if name in top:
            return name
    candidates = [n for n in top if n.lower().endswith((".jsonl", ".csv"))]
    if len(candidates) > 1:
        raise ImportRefused(f"The ZIP has several manifests at its top ({', '.join(sorted(candidates)[:5])}); "
                            "name the one to use manifest.jsonl or manifest.csv.")
    return candidates[0] if candidates else ""


def _raw_rows(name: str, data: bytes) -> list[tuple[int, dict]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(f"{name} is not UTF-8 text.") from None
    rows = []
    if name.lower().endswith(".jsonl"):
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = jsonlimits.loads(line)
            except (jsonlimits.Refused, json.JSONDecodeError) as exc:
                rows.append((n, {"__error__": f"not valid JSON: {exc}"}))
                continue
            rows.append((n, value if isinstance(value, dict) else {"__error__": "a row must be a JSON object"}))
        return rows
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "file" not in header and "files" not in header:
        raise ImportRefused(f"{name}: the header row needs a 'file' (or 'files') column; it has {', '.join(header)[:200]}.")
    for n, record in enumerate(reader, 2):
        if None in record:
            rows.append((reader.line_num, {"__error__": "more cells than the header has columns"}))
            continue
        if any((v or "").strip() for v in record.values()):
            rows.append((n, {k.strip(): v for k, v in record.items() if k is not None}))
    return rows


def _split_files(value: Any) -> list[str]:
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise services.Invalid("'files' must be a list of paths")
        return [v.strip() for v in value if v.strip()]
    if not isinstance(value, str):
        raise services.Invalid("'file' must be a path in the ZIP")
    text = value.strip()
    if text.startswith("["):
        try:
            return _split_files(json.loads(text))
        except json.JSONDecodeError:
            raise services.Invalid("'files' starts with '[' but is not a JSON list") from None
    return [p.strip() for p in text.split("|") if p.strip()]


def parse_manifest(zf: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo], eval_set: EvalSet) -> Manifest:
    """Every row validated; ImportRefused listing every row's error if any row is invalid."""
    name = find_manifest(files)
    if not name:
        media_names = sorted(n for n in files if _is_media_name(n))
        if not media_names:
            raise ImportRefused("The ZIP has no manifest (manifest.jsonl or manifest.csv) and no media files.")
        return Manifest("", [Row(i, [n], None, "", [], {}) for i, n in enumerate(media_names, 1)])
    raw = _raw_rows(name, read_member(zf, files[name], MAX_MANIFEST_BYTES))
    if len(raw) > MAX_MEMBERS:
        raise ImportRefused(f"{name} has {len(raw):,} rows; at most {MAX_MEMBERS:,} are imported at once.")
    is_json = name.lower().endswith(".jsonl")
    manifest, errors = Manifest(name), []
    for number, record in raw:
        try:
            manifest.rows.append(_row(number, record, files, eval_set, from_text=not is_json))
        except services.Invalid as exc:
            errors.append({"row": number, "message": f"row {number}: {exc}"})
    if not manifest.rows and not errors:
        raise ImportRefused(f"{name} has no rows.")
    if errors:
        raise ImportRefused(
            f"{name}: {len(errors)} row(s) are invalid, so nothing was imported. Fix them and import again.", errors
        )
    return manifest


def _is_media_name(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() in MEDIA_EXTENSIONS and not name.startswith(("__MACOSX/", "."))


def _row(number: int, record: dict, files: dict[str, zipfile.ZipInfo], eval_set: EvalSet, *, from_text: bool) -> Row:
    if "__error__" in record:
        raise services.Invalid(record["__error__"])
    paths = _split_files(record.get("files", record.get("file", "")))
    column = "files" if "files" in record else "file"
    if not paths:
        raise services.Invalid(f"'{column}' is empty; name the media file(s) of the case")
    if len(paths) > services.MAX_MEDIA_PER_CASE:
        raise services.Invalid(f"a case has at most {services.MAX_MEDIA_PER_CASE} files")
    for path in paths:
        key = unicodedata.normalize("NFC", path.removeprefix("./"))
        if key not in files:
            raise services.Invalid(f"file {path!r} is not in the ZIP")
        if key.lower().endswith(".zip"):
            raise services.Invalid(f"file {path!r} is a ZIP; archives inside the ZIP are not imported")
        if files[key].file_size > settings.MAX_UPLOAD_BYTES:
            raise services.Invalid(f"file {path!r} is larger than the {settings.MAX_UPLOAD_MB} MB upload limit")
    raw_kind = record.get("kind")
    if isinstance(raw_kind, str) and raw_kind.strip().lower() in MEDIA_KINDS:
        raw_kind = ""  # the media's own kind, as some generators write it: the decoder decides that, so ignored
    try:
        kind = services.clean_kind(raw_kind, allow_blank=True)
    except services.Invalid as exc:
        raise services.Invalid(f"column 'kind': {exc}") from None
    try:
        expected = services.clean_expected(record.get("expected"), kind or eval_set.expected_kind,
                                           labels=eval_set.labels, from_text=from_text)
    except services.Invalid as exc:
        raise services.Invalid(f"column 'expected': {exc}") from None
    try:
        tags = services.clean_tags(record.get("tags"))
    except services.Invalid as exc:
        raise services.Invalid(f"column 'tags': {exc}") from None
    extra = {k: v for k, v in record.items() if k not in KNOWN_KEYS}
    if isinstance(record.get("fields"), dict):  # JSONL may also nest them
        extra = {**{k: v for k, v in extra.items() if k != "fields"}, **record["fields"]}
    try:
        fields = services.clean_fields(extra)
    except services.Invalid as exc:
        raise services.Invalid(f"fields: {exc}") from None
    return Row(number, [unicodedata.normalize("NFC", p.removeprefix("./")) for p in paths], expected, kind, tags, fields)


# --- starting and running an import -----------------------------------------------------------------


def start_import(eval_set: EvalSet, *, user, path: Path, file_name: str) -> EvalImport:
    """Store the uploaded ZIP (by content, like media: a worker on another machine reads it from the
    same storage) and record the import; enqueue.py queues the task. Refuses at once what is not a ZIP."""
    if path.stat().st_size > zip_max_bytes():
        raise ImportRefused(f"The ZIP is larger than the {zip_max_mb():,} MB limit for imports.")
    if not zipfile.is_zipfile(path):
        raise ImportRefused("This is not a ZIP file.")
    stored = media.store_path(path, "application/zip")
    return EvalImport.objects.create(set=eval_set, created_by=user, file_name=file_name[:255], archive=stored.sha256)


def run_import(import_id: int, *, slice_s: float | None = None) -> bool:
    """Do (or resume) an import, for about slice_s seconds (SLICE_S). Returns True when rows are
    left for a continuation task."""
    slice_s = SLICE_S if slice_s is None else slice_s
    job = EvalImport.objects.select_related("set__team", "created_by").filter(pk=import_id).first()
    if job is None or job.finished:
        return False
    if job.status == EvalImport.Status.QUEUED:
        EvalImport.objects.filter(pk=job.pk).update(status=EvalImport.Status.RUNNING)
    try:
        archive = StoredFile.objects.get(pk=job.archive).local_path()
        with zipfile.ZipFile(archive) as zf:
            files = check_archive(zf)
            manifest = parse_manifest(zf, files, job.set)
            if job.total != len(manifest.rows):
                EvalImport.objects.filter(pk=job.pk).update(total=len(manifest.rows))
            return _add_rows(job, zf, files, manifest, slice_s=slice_s)
    except ImportRefused as exc:
        _finish(job, EvalImport.Status.FAILED, [{"row": 0, "message": str(exc)}, *exc.errors])
    except (zipfile.BadZipFile, NotImplementedError, EOFError, zlib.error, OSError) as exc:
        _finish(job, EvalImport.Status.FAILED, [{"row": 0, "message": f"The ZIP cannot be read: {exc}"}])
    except Exception:
        log.exception("evaluation set import %s failed", import_id)
        _finish(job, EvalImport.Status.FAILED, [{"row": 0, "message": "The import failed unexpectedly; the error was logged."}])
        raise
    return False


def _add_rows(job: EvalImport, zf: zipfile.ZipFile, files, manifest: Manifest, *, slice_s: float) -> bool:
    team, user = job.set.team, job.created_by
    started = time.monotonic()
    done, added, errors = job.done, job.added, list(job.errors)
    items: dict[str, Any] = {}  # member -> MediaItem or MediaRejected (a file named by several rows is checked once)
    rows = manifest.rows[done:]
    with tempfile.TemporaryDirectory(prefix="prism-evalimport-", dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        for start in range(0, len(rows), BATCH):
            chunk = rows[start:start + BATCH]
            _check_files(zf, files, [p for row in chunk for p in row.files], items, team=team, user=user, dest=Path(tmp))
            batch = []
            for row in chunk:
                refused = next((items[p] for p in row.files if isinstance(items[p], MediaRejected)), None)
                if refused is not None:
                    errors.append({"row": row.number, "message": f"row {row.number}: {refused}"})
                    continue
                batch.append({"items": [items[p] for p in row.files], "expected": row.expected,
                              "expected_kind": row.kind, "fields": row.fields, "tags": row.tags})
            done, added = _commit(job, batch, done + len(chunk), added, errors)
            if time.monotonic() - started > slice_s and done < len(manifest.rows):
                return True
    _finish(job, EvalImport.Status.DONE, errors)
    return False


def _threads() -> int:
    return max(1, min(MAX_THREADS, os.cpu_count() or 1))


def _check_files(zf, files, names: list[str], cache: dict, *, team, user, dest: Path) -> None:
    """Each member not seen yet: extracted (one at a time, from the one ZIP handle), then added
    through the library's checks. The checks run in threads (each decode is a sandboxed child
    process, so they use every core), except inside a transaction (a test's, an eager task's):
    other threads' connections could not see its rows."""
    todo: dict[str, Path | MediaRejected] = {}
    for name in dict.fromkeys(names):
        if name in cache or name in todo:
            continue
        try:
            todo[name] = extract_member(zf, files[name], dest)
        except MediaRejected as exc:
            todo[name] = exc

    def add(name: str, path):
        if isinstance(path, MediaRejected):
            return path
        try:
            return media.add_path(team=team, user=user, path=path, name=PurePosixPath(name).name[:255]).item
        except MediaRejected as exc:
            return exc
        finally:
            path.unlink(missing_ok=True)

    def add_in_thread(name: str, path):
        try:
            return add(name, path)
        finally:
            connection.close()  # this thread's own connection; the pool's threads end with the batch

    if len(todo) > 1 and _threads() > 1 and not connection.in_atomic_block:
        with ThreadPoolExecutor(max_workers=_threads()) as pool:
            results = list(pool.map(add_in_thread, todo.keys(), todo.values()))
    else:
        results = [add(name, path) for name, path in todo.items()]
    cache.update(zip(todo.keys(), results, strict=True))


def _commit(job: EvalImport, batch: list[dict], done: int, added: int, errors: list) -> tuple[int, int]:
    with transaction.atomic():
        services.add_cases(job.set, batch)
        EvalImport.objects.filter(pk=job.pk).update(done=done, added=added + len(batch), errors=errors)
    return done, added + len(batch)


def _finish(job: EvalImport, status: str, errors: list) -> None:
    EvalImport.objects.filter(pk=job.pk).update(status=status, errors=errors, finished_at=timezone.now(), archive="")


# --- export --------------------------------------------------------------------------------------------


def export_set(eval_set: EvalSet, out) -> None:
    """Write the set as a ZIP to the binary file out: media/<name> per item (each once) and
    manifest.jsonl (file(s), expected, kind, tags, fields), which run_import reads back."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
        lines = []
        cases = services.browse(eval_set).order_by("position", "id")
        for case in cases.iterator(chunk_size=500):
            paths = []
            for m in case.ordered_media():
                item = m.item
                if item.pk not in names:
                    stem, ext = safe_file_name(item.name, item.mime_type)
                    candidate, n = f"{stem}{ext}", 1
                    while candidate.lower() in taken:
                        n += 1
                        candidate = f"{stem}-{n}{ext}"
                    taken.add(candidate.lower())
                    names[item.pk] = f"media/{candidate}"
                    if item.file_id is None:
                        raise ImportRefused(f"“{item.name}” is a URL reference; its bytes are not stored, so it cannot be exported.")
                    # Media are stored as they are: photos and audio are compressed already.
                    zf.write(item.file.local_path(), names[item.pk], compress_type=zipfile.ZIP_STORED)
                paths.append(names[item.pk])
            row: dict[str, Any] = {"files" if len(paths) > 1 else "file": paths if len(paths) > 1 else paths[0],
                                   "expected": case.expected}
            if case.expected_kind:
                row["kind"] = case.expected_kind
            if case.tags:
                row["tags"] = case.tags
            if case.fields:
                row["fields"] = case.fields
            lines.append(json.dumps(row, ensure_ascii=False))
        zf.writestr(zipfile.ZipInfo("manifest.jsonl", date_time=timezone.now().timetuple()[:6]),
                    ("\n".join(lines) + "\n").encode(), compress_type=zipfile.ZIP_DEFLATED)
