"""Prompts as files: export a saved version as one .zip, import a .zip export or a PROMPT.json.

An export holds

    prompt.json      the version's document (document.py), every {"item": id} rewritten to a
                     relative path "media/<name>" (or, for media sent by URL, a URL reference
                     {"url": ..., "kind": ..., "mime_type": ...}, never downloaded)
    media/<name>     the original bytes of each library item the document uses (parts and variables)
    manifest.json    {"format", "format_version", "exported_at", "prompt", "version",
                      "files": {entry: sha256}, "media": {entry: {"name", "kind", "mime_type"}}}

`manage.py preview export.zip` reads it as it is (unpacked(), then FileSource(confine=True)), and
import_prompt adds its media to a team's library through the same checks as an upload.

Archives are untrusted: entry count and total uncompressed size are checked from the central
directory before anything is extracted (and again while extracting), names must be plain relative
paths, symlinks and encrypted entries are refused. An import is all or nothing: every media file
is decoded and checked before the first one is stored, and the library items and the prompt are
created in one transaction.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import mimetypes
import os
import re
import stat
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings

from playground.lib import jsonlimits, zipcheck
from playground.prompts.document import KINDS, DocumentError, MediaProblem, media_refs, normalize, rewrite_media_refs

FORMAT = "prism-prompt"
FORMAT_VERSION = 1
PROMPT_ENTRY = "prompt.json"
MANIFEST_ENTRY = "manifest.json"
MEDIA_DIR = "media"
MAX_ENTRIES = 256  # a prompt with hundreds of media files is not a prompt; a zip bomb often is


class ImportRefused(Exception):
    """The file cannot be imported; str(exc) says why, for the user."""


class ExportError(Exception):
    """The version cannot be exported (a media item it names is gone); str(exc) says which."""


# --- export ----------------------------------------------------------------------------------------


def export_version(version) -> bytes:
    """One .zip holding the version's document, the media it uses and a manifest."""
    from playground.prompts.library_source import item_id_of
    from playground.uploads.models import MediaItem

    prompt = version.prompt
    try:
        doc = normalize(copy.deepcopy(version.content))
    except DocumentError as exc:
        raise ExportError(f"Version {version.number} of “{prompt.name}” is not a valid document: {exc}") from None
    ids = {item_id_of(ref) for ref in media_refs(doc)} - {None}
    items = {i.pk: i for i in MediaItem.objects.filter(team_id=prompt.team_id, pk__in=ids).select_related("file")}
    names = _Names()
    media_files: dict[str, Any] = {}  # entry name -> MediaItem

    def rewrite(ref: Any, send: str) -> Any:
        if isinstance(ref, dict) and "url" in ref:
            return ref
        item_id = item_id_of(ref)
        if item_id is None:
            raise ExportError(f"The document names media as {ref!r}, which is not a library item.")
        item = items.get(item_id)
        if item is None:
            raise ExportError(f"Media item {item_id} is no longer in the team's library.")
        if item.file_id is None or (send == "url" and item.source_url):
            return _url_ref(item)
        entry = names.entry_for(item)
        media_files[entry] = item
        return entry

    rewrite_media_refs(doc, rewrite)

    prompt_json = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "prompt": prompt.name,
        "version": version.number,
        "files": {PROMPT_ENTRY: hashlib.sha256(prompt_json).hexdigest()}
        | {entry: item.sha256 for entry, item in media_files.items()},
        "media": {entry: {"name": item.name, "kind": item.kind, "mime_type": item.mime_type}
                  for entry, item in media_files.items()},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        _write_text(zf, MANIFEST_ENTRY, json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8") + b"\n")
        _write_text(zf, PROMPT_ENTRY, prompt_json)
        for entry, item in media_files.items():
            # Media are stored as they are: photos, MP3s, videos and PDFs are compressed already.
            zf.write(item.file.local_path(), entry, compress_type=zipfile.ZIP_STORED)  # the bucket's: a cached copy
    return out.getvalue()


def _write_text(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    # ZIP entry times are local wall time with no zone, by the format.
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])  # noqa: DTZ005
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _url_ref(item) -> dict:
    ref = {"url": item.source_url, "kind": item.kind, "mime_type": item.mime_type, "name": item.name}
    for key in ("width", "height", "duration_s", "page_count"):
        if getattr(item, key) is not None:
            ref[key] = getattr(item, key)
    return ref


class _Names:
    """Readable, unique, safe entry names "media/<name>": one per item, unique ignoring case."""

    def __init__(self):
        self.by_item: dict[int, str] = {}
        self.taken: set[str] = set()

    def entry_for(self, item) -> str:
        if item.pk not in self.by_item:
            stem, ext = safe_file_name(item.name, item.mime_type)
            candidate, n = stem + ext, 1
            while candidate.lower() in self.taken:
                n += 1
                candidate = f"{stem}-{n}{ext}"
            self.taken.add(candidate.lower())
            self.by_item[item.pk] = f"{MEDIA_DIR}/{candidate}"
        return self.by_item[item.pk]


_WINDOWS_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def safe_file_name(name: str, mime_type: str = "") -> tuple[str, str]:
    """(stem, extension) of a file name safe on any file system: letters, digits, ``-_.+``;
    spaces become ``-``; the extension is kept (or guessed from the MIME type)."""
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    stem, ext = os.path.splitext(name)
    stem = re.sub(r"\s+", "-", stem.strip())
    stem = re.sub(r"[^\w.+-]+", "_", stem)
    stem = re.sub(r"[-_]{2,}", lambda m: "-" if "-" in m.group() else "_", stem).strip("._-")[:80] or "media"
    if stem.lower() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:10].lower()
    if not ext and mime_type:
        guessed = {"image/jpeg": ".jpg", "audio/mpeg": ".mp3", "audio/wav": ".wav"}.get(mime_type) or mimetypes.guess_extension(mime_type) or ""
        ext = guessed.lstrip(".")
    return stem, (f".{ext}" if ext else "")


# --- reading an archive safely -------------------------------------------------------------------


@dataclass
class Unpacked:
    folder: Path  # where the archive was extracted; media paths in the document are relative to it
    document: Any  # prompt.json as parsed, not yet normalized
    manifest: dict


def check_entries(zf: zipfile.ZipFile, *, max_bytes: int, max_entries: int = MAX_ENTRIES) -> list[zipfile.ZipInfo]:
    """The archive's entries, once each is known safe to extract (lib/zipcheck.py). Raises ImportRefused."""
    try:
        return zipcheck.check_members(zf, max_members=max_entries, max_total_bytes=max_bytes)
    except zipcheck.ZipRefused as exc:
        raise ImportRefused(str(exc)) from None


def extract(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], dest: Path, *, max_bytes: int) -> None:
    """Extract checked entries under dest, counting bytes as they come (headers can lie)."""
    dest = dest.resolve()
    written = 0
    for info in infos:
        target = dest.joinpath(*PurePosixPath(info.filename).parts)
        if not target.resolve().is_relative_to(dest):
            raise ImportRefused(f"{info.filename!r}: not a plain relative path inside the archive.")
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(target, "xb") as out:
            copied = 0
            while chunk := src.read(1 << 20):
                copied += len(chunk)
                written += len(chunk)
                if copied > info.file_size or written > max_bytes:
                    raise ImportRefused(f"{info.filename}: unpacks to more than the archive says; refused.")
                out.write(chunk)


@contextmanager
def unpacked(source, *, max_bytes: int | None = None, temp_dir: Path | None = None) -> Iterator[Unpacked]:
    """A .zip export (a path or a binary file object) extracted into a temporary folder, removed
    afterwards. Raises ImportRefused for anything unsafe or not an export."""
    max_bytes = settings.MAX_UPLOAD_BYTES if max_bytes is None else max_bytes
    with tempfile.TemporaryDirectory(prefix="prism-prompt-", dir=temp_dir) as tmp:
        folder = Path(tmp)
        try:
            with zipfile.ZipFile(source) as zf:
                infos = check_entries(zf, max_bytes=max_bytes)
                if PROMPT_ENTRY not in {i.filename for i in infos}:
                    raise ImportRefused(f"The archive has no {PROMPT_ENTRY} at its top level; it is not a prompt export.")
                extract(zf, infos, folder, max_bytes=max_bytes)
        except zipfile.BadZipFile as exc:
            raise ImportRefused(f"The archive is damaged: {exc}.") from None
        except (NotImplementedError, EOFError, zlib.error) as exc:
            raise ImportRefused(f"The archive cannot be read: {exc}.") from None
        document = parse_json((folder / PROMPT_ENTRY).read_bytes(), PROMPT_ENTRY)
        manifest = _manifest(folder / MANIFEST_ENTRY)
        yield Unpacked(folder=folder, document=document, manifest=manifest)


def parse_json(data: bytes, label: str) -> Any:
    try:
        return jsonlimits.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused(f"{label} is not UTF-8 text.") from None
    except jsonlimits.Refused as exc:  # nested too deeply, NaN, a NUL...
        raise ImportRefused(f"{label}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ImportRefused(f"{label} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None


def _manifest(path: Path) -> dict:
    if not path.is_file():
        return {}
    manifest = parse_json(path.read_bytes(), MANIFEST_ENTRY)
    if not isinstance(manifest, dict):
        raise ImportRefused(f"{MANIFEST_ENTRY} is not a JSON object.")
    version = manifest.get("format_version", FORMAT_VERSION)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ImportRefused(
            f"This export has format version {version!r}; this Prism reads version {FORMAT_VERSION}. Update Prism."
        )
    return manifest


# --- import ----------------------------------------------------------------------------------------


def import_prompt(*, team, user, uploaded_file):
    """A new Prompt in team from a .zip export or a plain PROMPT.json (media by URL only).

    Its media join the team's library (identical bytes reuse the existing item) and version 1 is
    the document with each file reference rewritten to {"item": id}. Raises ImportRefused, and
    then nothing has been created.
    """
    from django.db import transaction

    from playground.prompts.models import Prompt
    from playground.uploads import identify, services
    from playground.uploads.upload_handlers import OversizeUpload

    if isinstance(uploaded_file, OversizeUpload):
        raise ImportRefused(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
    file_name = getattr(uploaded_file, "name", None) or str(uploaded_file)
    with _opened(uploaded_file) as f:
        head = f.read(4)
        f.seek(0)
        with _document_and_folder(f, is_zip=head.startswith(b"PK")) as (raw, folder, manifest):
            try:
                doc = normalize(raw)
            except DocumentError as exc:
                raise ImportRefused(f"{PROMPT_ENTRY if folder else 'The prompt'}: {exc}") from None
            media_names = manifest.get("media") if isinstance(manifest.get("media"), dict) else {}

            # 1. Every reference checked, every file decoded, before anything is stored.
            files: dict[Path, str] = {}  # path -> library name
            for ref in media_refs(doc):
                path = _check_ref(ref, folder)
                if path is None or path in files:
                    continue
                label = ref
                if path.stat().st_size > settings.MAX_UPLOAD_BYTES:
                    raise ImportRefused(f"{label}: larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
                try:
                    services.check_path(path, thumbnail=False)  # in a bounded child process (sandbox.py)
                except identify.MediaRejected as exc:
                    raise ImportRefused(f"{label}: {exc}") from None
                entry = path.relative_to(folder).as_posix()
                name = (media_names.get(entry) or {}).get("name") if isinstance(media_names.get(entry), dict) else None
                files[path] = _library_name(name if isinstance(name, str) and name.strip() else path.name)

            # 2. Stored and created together.
            with transaction.atomic():
                items = {}
                for path, name in files.items():
                    try:
                        items[path] = services.add_path(team=team, user=user, path=path, name=name).item
                    except identify.MediaRejected as exc:
                        raise ImportRefused(f"{path.relative_to(folder).as_posix()}: {exc}") from None

                def rewrite(ref, send):
                    if isinstance(ref, str):
                        return {"item": items[_path_of(ref, folder)].pk}
                    return ref

                rewrite_media_refs(doc, rewrite)
                name = _prompt_name(doc, manifest, file_name)
                prompt = Prompt.objects.create(team=team, name=name, created_by=user)
                prompt.save_version(doc, media_items=list(items.values()), user=user)
    return prompt


@contextmanager
def _opened(uploaded_file):
    """A seekable binary file for an UploadedFile, a file object, a path or bytes."""
    if isinstance(uploaded_file, (bytes, bytearray)):
        yield io.BytesIO(uploaded_file)
        return
    if isinstance(uploaded_file, (str, os.PathLike)):
        with open(uploaded_file, "rb") as f:
            yield f
        return
    temp_path = getattr(uploaded_file, "temporary_file_path", None)
    if callable(temp_path):
        with open(temp_path(), "rb") as f:
            yield f
        return
    f = uploaded_file
    if getattr(f, "closed", False) and hasattr(f, "open"):
        f.open("rb")
    if not (hasattr(f, "seekable") and f.seekable()):
        with tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as spool:
            for chunk in f.chunks() if hasattr(f, "chunks") else iter(lambda: f.read(1 << 20), b""):
                spool.write(chunk)
                if spool.tell() > settings.MAX_UPLOAD_BYTES:
                    raise ImportRefused(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
            spool.seek(0)
            yield spool
        return
    f.seek(0)
    yield f


@contextmanager
def _document_and_folder(f, *, is_zip: bool):
    """(raw document, folder or None, manifest) from a zip export or a JSON file."""
    if is_zip:
        with unpacked(f, temp_dir=settings.FILE_UPLOAD_TEMP_DIR) as u:
            yield u.document, u.folder, u.manifest
        return
    data = f.read(settings.MAX_UPLOAD_BYTES + 1)
    if len(data) > settings.MAX_UPLOAD_BYTES:
        raise ImportRefused(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
    if data.lstrip()[:1] not in (b"{", b"["):
        raise ImportRefused("This is neither a prompt export (.zip) nor a prompt document (.json).")
    yield parse_json(data, "The prompt document"), None, {}


def _check_ref(ref: Any, folder: Path | None) -> Path | None:
    """The file a reference names (None for a URL reference). Raises ImportRefused."""
    if isinstance(ref, dict) and "url" in ref:
        url = ref.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise ImportRefused(f"A URL reference needs an http(s) \"url\", not {url!r}.")
        if ref.get("kind") not in KINDS or not isinstance(ref.get("mime_type"), str) or not ref["mime_type"]:
            raise ImportRefused(f"{url}: a URL reference needs \"kind\" and \"mime_type\" (it is not fetched).")
        return None
    if not isinstance(ref, str):
        raise ImportRefused(
            f"The media reference {ref!r} points into a Prism library; an export names its files as media/..."
        )
    if folder is None:
        raise ImportRefused(
            f"{ref}: a plain prompt document can carry media only by URL; export a .zip to include files."
        )
    return _path_of(ref, folder)


def _path_of(ref: str, folder: Path) -> Path:
    from playground.prompts.sources import FileSource

    try:
        return FileSource(folder, confine=True).path_of(ref)
    except MediaProblem as exc:
        raise ImportRefused(str(exc)) from None


def _library_name(name: str) -> str:
    return (os.path.basename(name.replace("\\", "/")).strip() or "untitled")[:255]


def _prompt_name(doc: dict, manifest: dict, file_name: str) -> str:
    for candidate in (doc.get("name"), manifest.get("prompt")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()[:200]
    stem = Path(os.path.basename(str(file_name).replace("\\", "/"))).stem
    return (stem.strip() or "Imported prompt")[:200]
