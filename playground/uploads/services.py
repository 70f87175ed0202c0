"""Media library workflows: adding media (upload or URL), preparing variants, deleting, pruning.

Views, tasks and management commands all call these functions. Queueing variant work for a worker
is enqueue.py's (it sits above tasks.py, which calls this module). Each check runs before anything
is written, so a refused file leaves no trace.
"""

import hashlib
import logging
import os
import shutil
import stat
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from playground.lib import safe_fetch
from playground.uploads import blobs, references, sandbox, variants
from playground.uploads.identify import MediaInfo, MediaRejected
from playground.uploads.models import MediaItem, MediaVariant, RefusedFile, StoredFile, VariantFile, blob_name
from playground.uploads.pictures import THUMBNAIL_MIME
from playground.uploads.upload_handlers import OversizeUpload

log = logging.getLogger(__name__)


class ItemInUse(Exception):
    def __init__(self, message: str, users: list[str]):
        super().__init__(message)
        self.users = users


# --- storing bytes -----------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def store_path(path: Path, mime_type: str, *, sha256: str | None = None) -> StoredFile:
    """Store the file at path once by content; a second call with the same bytes finds the first.

    Into the media folder by a hard link (no copy), or uploaded to the bucket (blobs.py)."""
    sha256 = sha256 or sha256_of(path)
    existing = StoredFile.objects.filter(pk=sha256).first()
    if existing and existing.exists():
        return existing
    blobs.put(path, blob_name(sha256), sha256=sha256, mime_type=mime_type)
    stored, _ = StoredFile.objects.get_or_create(
        pk=sha256, defaults={"size": path.stat().st_size, "mime_type": mime_type}
    )
    return stored


def store_bytes(data: bytes, mime_type: str) -> StoredFile:
    with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        tmp.write(data)
        tmp.flush()
        return store_path(Path(tmp.name), mime_type, sha256=hashlib.sha256(data).hexdigest())


# --- adding media --------------------------------------------------------------------------------


@dataclass
class Added:
    item: MediaItem
    created: bool  # False: the same bytes were already in this team's library


def add_upload(*, team, user, uploaded_file) -> Added:
    """Check an uploaded file by decoding it, then store it. Raises MediaRejected with the reason."""
    if isinstance(uploaded_file, OversizeUpload):
        raise MediaRejected(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
    path = Path(uploaded_file.temporary_file_path())
    return _add_checked_file(
        team=team, user=user, path=path, name=_display_name(uploaded_file.name), source=MediaItem.Source.UPLOAD
    )


def add_path(*, team, user, path: Path, name: str) -> Added:
    """Add a file already on disk (demo data, imports); the same checks as an upload."""
    if path.stat().st_size > settings.MAX_UPLOAD_BYTES:
        raise MediaRejected(f"The file is larger than the {settings.MAX_UPLOAD_MB} MB upload limit.")
    return _add_checked_file(team=team, user=user, path=path, name=name, source=MediaItem.Source.UPLOAD)


def add_from_url(*, team, user, url: str, keep_as_reference: bool) -> Added:
    """Fetch a URL (refusing private addresses), check what it holds, and store it or keep it as a reference.

    A reference is still fetched once, to learn its kind and dimensions and draw a thumbnail; only
    the URL is kept, and protocols that accept URLs are sent the URL.
    """
    with tempfile.NamedTemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR) as tmp:
        try:
            fetched = safe_fetch.fetch_to_file(
                url,
                tmp,
                max_bytes=settings.MAX_UPLOAD_BYTES,
                timeout_s=settings.URL_FETCH_TIMEOUT_S,
                max_redirects=settings.URL_FETCH_MAX_REDIRECTS,
                allow_loopback=settings.URL_FETCH_ALLOW_LOOPBACK,
                # A few slow URLs must not hold every web thread of this process.
                slots=safe_fetch.shared_slots(settings.URL_FETCH_MAX_CONCURRENT),
            )
        except safe_fetch.FetchRefused as exc:
            raise MediaRejected(str(exc)) from None
        tmp.flush()
        source = MediaItem.Source.URL_REFERENCE if keep_as_reference else MediaItem.Source.URL_FETCHED
        return _add_checked_file(
            team=team,
            user=user,
            path=Path(tmp.name),
            name=_display_name(fetched.filename),
            source=source,
            source_url=url,
            sha256=fetched.sha256,
        )


def _add_checked_file(*, team, user, path: Path, name: str, source: str, source_url: str = "", sha256=None) -> Added:
    # The hash first: bytes already in this team's library are not decoded again.
    sha256 = sha256 or sha256_of(path)
    is_reference = source == MediaItem.Source.URL_REFERENCE
    if not is_reference:
        existing = MediaItem.objects.filter(team=team, sha256=sha256).exclude(source=MediaItem.Source.URL_REFERENCE)
        if item := existing.first():
            return Added(item, created=False)
    info, thumbnail = check_path(path, sha256=sha256)
    stored = None if is_reference else store_path(path, info.mime_type, sha256=sha256)
    fields = dict(
        team=team,
        created_by=user,
        name=name,
        kind=info.kind,
        source=source,
        source_url=source_url,
        file=stored,
        thumbnail=thumbnail,
        sha256=sha256,
        size=path.stat().st_size,
        **info_fields(info),
    )
    try:
        with transaction.atomic():
            return Added(MediaItem.objects.create(**fields), created=True)
    except IntegrityError:
        # Two uploads of the same bytes raced; the other one won and is the library item.
        return Added(MediaItem.objects.get(team=team, sha256=sha256, source=source), created=False)


def _limits_key() -> str:
    return (
        f"pixels={settings.MAX_IMAGE_PIXELS};mb={settings.PRISM_DECODE_MAX_MB};s={settings.PRISM_DECODE_TIMEOUT_S}"
    )


def check_path(path: Path, *, sha256: str | None = None, thumbnail: bool = True) -> tuple[MediaInfo, StoredFile | None]:
    """What the file at path is, and its thumbnail, or MediaRejected with the reason.

    Decoding untrusted bytes happens in a child process under PRISM_DECODE_MAX_MB and
    PRISM_DECODE_TIMEOUT_S (sandbox.py), and only once per content: bytes refused before (under
    the same limits) are refused again at once with the same reason, and bytes some library
    item already holds reuse that item's findings and thumbnail (the same bytes decode the same).
    With thumbnail=False nothing is stored (a check before an all-or-nothing import).
    """
    sha256 = sha256 or sha256_of(path)
    limits = _limits_key()
    if refused := RefusedFile.objects.filter(pk=sha256, limits=limits).first():
        raise MediaRejected(refused.reason)
    if known := MediaItem.objects.filter(sha256=sha256).select_related("thumbnail").order_by("pk").first():
        return media_info(known), known.thumbnail
    try:
        info, drawn, problem = sandbox.check_media(
            path,
            max_image_pixels=settings.MAX_IMAGE_PIXELS,
            max_mb=settings.PRISM_DECODE_MAX_MB,
            timeout_s=settings.PRISM_DECODE_TIMEOUT_S,
        )
    except MediaRejected as exc:
        RefusedFile.objects.update_or_create(pk=sha256, defaults={"reason": str(exc), "limits": limits})
        raise
    if drawn is None:
        # The file itself decoded; a thumbnail is a nicety, and its absence is shown as a plain icon.
        log.warning("thumbnail failed for %s (%s): %s", path, info.mime_type, problem)
        return info, None
    return info, store_bytes(drawn, THUMBNAIL_MIME) if thumbnail else None


# The decoder's findings, as MediaInfo fields and MediaItem columns alike.
INFO_FIELDS = ("mime_type", "format", "width", "height", "duration_s", "page_count", "frame_count", "details")


def info_fields(info: MediaInfo) -> dict:
    return {name: getattr(info, name) for name in INFO_FIELDS}


def media_info(item: MediaItem) -> MediaInfo:
    """The decoder's findings as stored on the item, for variant work."""
    return MediaInfo(kind=item.kind, **{name: getattr(item, name) for name in INFO_FIELDS})


def _display_name(name: str | None) -> str:
    """A name to show: the last path part, without the characters Django strips from uploaded
    file names (str.isprintable: controls, and format characters such as the bidi overrides
    U+202A-U+202E and U+2066-U+2069 that show "photo<U+202E>gpj.exe" as "photoexe.jpg")."""
    name = os.path.basename((name or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return (name or "untitled")[:255]


# --- variants ------------------------------------------------------------------------------------


class VariantUnavailable(Exception):
    pass


def variant_source(item: MediaItem) -> StoredFile:
    """The stored bytes variants of item are made from; VariantUnavailable for a URL reference."""
    if item.file_id is None:
        raise VariantUnavailable("This item is a URL reference; its bytes are not stored, so no variant can be made.")
    return item.file


def variant_key(item: MediaItem, spec: variants.VariantSpec) -> str:
    """The key item's variant for spec is kept under: the spec as the output it makes from this
    item's bytes (variants.canonical), so specs that make the same bytes share one variant."""
    return variants.canonical(spec, media_info(item)).key()


def _ready(source: StoredFile, item: MediaItem, spec: variants.VariantSpec) -> MediaVariant | None:
    # A row made before keys were canonical (under spec.key() as given) still serves: same bytes.
    key = variant_key(item, spec)
    ready = MediaVariant.objects.filter(source=source, spec__in={key, spec.key()}, status=MediaVariant.Status.READY)
    rows = {v.spec: v for v in ready}
    return rows.get(key) or rows.get(spec.key())


def get_variant(item: MediaItem, spec: variants.VariantSpec) -> MediaVariant:
    """The variant of item for spec, made now (inline) unless it is ready already. Raises VariantError."""
    source = variant_source(item)
    if ready := _ready(source, item, spec):
        return ready
    variant, _ = MediaVariant.objects.get_or_create(source=source, spec=variant_key(item, spec))
    if variant.status != MediaVariant.Status.READY:
        make_variant(variant.pk, item.pk)
        variant.refresh_from_db()
        if variant.status == MediaVariant.Status.FAILED:
            raise variants.VariantError(variant.error)
    return variant


def ready_variant(item: MediaItem, spec: variants.VariantSpec) -> MediaVariant | None:
    """The variant of item for spec if it is made already, else None: reads only (for a GET).
    Raises VariantUnavailable for a URL reference."""
    return _ready(variant_source(item), item, spec)


def make_variant(variant_id: int, item_id: int) -> None:
    """Do the work for one variant and record the outcome. Safe to run twice: the result is the same."""
    variant = MediaVariant.objects.select_related("source").filter(pk=variant_id).first()
    item = MediaItem.objects.filter(pk=item_id).first()
    if variant is None or variant.status == MediaVariant.Status.READY:
        return
    if item is None:
        # The item was deleted; another item with the same bytes may still ask again later.
        item = MediaItem.objects.filter(file=variant.source).first()
        if item is None:
            return
    try:
        spec = variants.VariantSpec.parse(variant.spec)
        outputs = _variant_outputs(variant.source.local_path(), media_info(item), spec)
    except variants.VariantError as exc:
        MediaVariant.objects.filter(pk=variant.pk).update(status=MediaVariant.Status.FAILED, error=str(exc))
        return
    except Exception:
        # Never leave a variant pending forever: the page would poll without end.
        log.exception("variant %s (%s) failed", variant.pk, variant.spec)
        MediaVariant.objects.filter(pk=variant.pk).update(
            status=MediaVariant.Status.FAILED, error="Preparing this variant failed unexpectedly; the error was logged."
        )
        raise
    stored = [store_bytes(out.data, out.mime_type) for out in outputs]
    with transaction.atomic():
        locked = MediaVariant.objects.select_for_update().get(pk=variant.pk)
        if locked.status == MediaVariant.Status.READY:
            return  # another worker finished first
        VariantFile.objects.filter(variant=locked).delete()
        VariantFile.objects.bulk_create(
            VariantFile(variant=locked, file=file, position=i, details=out.details)
            for i, (file, out) in enumerate(zip(stored, outputs, strict=True))
        )
        locked.status = MediaVariant.Status.READY
        locked.error = ""
        locked.details = {"count": len(outputs), **(outputs[0].details if len(outputs) == 1 else {})}
        locked.save()


def _variant_outputs(path: Path, info: MediaInfo, spec: variants.VariantSpec) -> list[variants.VariantOutput]:
    """variants.make_variant in a child process with the decode memory limit (sandbox.py). The
    time allowed is the task's soft time limit: conversions of long media take longer than a check."""
    timeout = max(settings.PRISM_DECODE_TIMEOUT_S, settings.CELERY_TASK_SOFT_TIME_LIMIT)
    try:
        return sandbox.run(
            variants.make_variant, str(path), info, spec, max_mb=settings.PRISM_DECODE_MAX_MB, timeout_s=timeout
        )
    except sandbox.LimitExceeded as exc:
        if exc.reason == "time":
            raise variants.VariantError(f"Preparing this variant took longer than {timeout} s, so it was stopped.") from None
        raise variants.VariantError(
            f"Preparing this variant needs more than {exc.max_mb} MB of memory, so it was stopped."
        ) from None


def variants_of(item: MediaItem) -> list[MediaVariant]:
    """The variants to list on item's page, newest first, each with ``label`` (its name in words):
    one per output. Rows kept under an older, non-canonical key of the same output (made before
    keys were canonical) are listed once, the ready one first."""
    if item.file_id is None:
        return []
    rows = (
        MediaVariant.objects.filter(source_id=item.file_id)
        .prefetch_related("variant_files__file")
        .order_by("-created_at", "-pk")
    )
    listed: dict[str, MediaVariant] = {}
    info = media_info(item)
    for variant in rows:
        key = _canonical_key(variant.spec, info)
        variant.label = variants.describe_key(key)
        variant.same_output = []
        kept = listed.get(key)
        if kept is None:
            listed[key] = variant
        elif kept.status != MediaVariant.Status.READY and variant.status == MediaVariant.Status.READY:
            variant.same_output = [kept, *kept.same_output]
            listed[key] = variant
        else:
            kept.same_output.append(variant)
    return sorted(listed.values(), key=lambda v: (v.created_at, v.pk), reverse=True)


def _canonical_key(spec_key: str, info: MediaInfo) -> str:
    try:
        return variants.canonical(variants.VariantSpec.parse(spec_key), info).key()
    except variants.VariantError:
        return spec_key


# --- previews a browser can show -----------------------------------------------------------------

# Image formats every current browser draws. HEIC and TIFF are not among them (Safari alone draws
# some), so their item pages show a converted copy: WebP keeps transparency and is small.
BROWSER_IMAGE_FORMATS = frozenset({"PNG", "JPEG", "GIF", "WEBP", "BMP"})
PREVIEW_SPEC = variants.VariantSpec.image(max_edge=2048, format="webp", quality=85)


def needs_preview(item: MediaItem) -> bool:
    """Whether item is an image a browser cannot show as it is (HEIC, HEIF, TIFF)."""
    return item.kind == MediaItem.Kind.IMAGE and item.file_id is not None and (
        item.format.upper() not in BROWSER_IMAGE_FORMATS
    )


def preview_variant(item: MediaItem) -> MediaVariant | None:
    """The ready converted preview of an image browsers cannot show, else None (reads only)."""
    return ready_variant(item, PREVIEW_SPEC) if needs_preview(item) else None


# --- PDF pages -----------------------------------------------------------------------------------

PDF_PAGE_EDGE = 1400  # px, the longest side of a page drawn for the item page
# Pages drawn are kept in Django's cache (a GET writes no row: viewers page through PDFs too), and
# the browser keeps them for a day. Keyed by content, so every item with these bytes shares them.
PDF_PAGE_CACHE_SECONDS = 86400


def pdf_page_spec(page: int) -> variants.VariantSpec:
    return variants.VariantSpec("page", (("page", page), ("max_edge", PDF_PAGE_EDGE)))


def pdf_page(item: MediaItem, page: int) -> bytes:
    """Page ``page`` (1-based) of a stored PDF as WebP bytes, drawn in the sandbox under the
    decode limits (variants.make_variant's "page" kind) on the first ask, then cached.
    Raises VariantError (no such page, or over a limit) and VariantUnavailable (a URL reference)."""
    if item.kind != MediaItem.Kind.PDF:
        raise VariantUnavailable("Only a PDF has pages.")
    source = variant_source(item)
    if not 1 <= page <= (item.page_count or 1):
        raise variants.VariantError(f"This PDF has {item.page_count} page{'s' if item.page_count != 1 else ''}.")
    spec = pdf_page_spec(page)
    key = f"prism:pdf-page:{source.sha256}:{spec.key()}:{_limits_key()}"
    if (data := cache.get(key)) is not None:
        return data
    [out] = _variant_outputs(source.local_path(), media_info(item), spec)
    cache.set(key, out.data, PDF_PAGE_CACHE_SECONDS)
    return out.data


# --- deleting ------------------------------------------------------------------------------------


def delete_item(item: MediaItem) -> None:
    """Delete a library item; refused while a saved prompt version uses it.

    Prompt versions point at media items with on_delete=PROTECT, so the database itself keeps an
    item that a version needs; here that refusal becomes a sentence naming the users.
    """
    try:
        item.delete()
    except ProtectedError as exc:
        users = sorted({str(obj) for obj in exc.protected_objects})
        listed = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        raise ItemInUse(f"“{item.name}” is used by saved prompt versions and cannot be deleted: {listed}.", users) from exc


class VariantInUse(Exception):
    pass


def variant_users(item: MediaItem, variant: MediaVariant) -> list[str]:
    """What still uses ``variant`` of ``item``, in words: the saved prompt versions of item's
    team that ask for this output (apps above register how they know, references.py), and the
    runs' stored requests that hold one of its files. Empty when it can go."""
    key = _canonical_key(variant.spec, media_info(item))
    users = references.variant_users(item, key)
    file_ids = set(variant.variant_files.values_list("file_id", flat=True))
    users += references.file_users(file_ids)
    return users


def delete_variant(item: MediaItem, variant: MediaVariant) -> int:
    """Delete ``variant`` (and any older row of the same output) of item's bytes, then each of its
    files nothing else uses. Refused with VariantInUse (the reason) while something uses it.
    Returns how many files were removed from storage.

    Variants are shared by every item with the same bytes, whatever the team; another team's
    prompt that needs it has it made again on its next preview or run (it is a cache)."""
    if variant.source_id != item.file_id:
        raise VariantUnavailable("This variant is not of this item.")
    users = variant_users(item, variant)
    if users:
        listed = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        raise VariantInUse(f"“{variants.describe_key(variant.spec)}” is still used, so it was kept: {listed}.")
    info = media_info(item)
    key = _canonical_key(variant.spec, info)
    same = [v.pk for v in MediaVariant.objects.filter(source_id=item.file_id) if _canonical_key(v.spec, info) == key]
    with transaction.atomic():
        file_ids = set(VariantFile.objects.filter(variant_id__in=same).values_list("file_id", flat=True))
        VariantFile.objects.filter(variant_id__in=same).delete()
        MediaVariant.objects.filter(pk__in=same).delete()
        unused = file_ids - files_in_use()
        StoredFile.objects.filter(pk__in=unused).delete()
    for sha in unused:
        # After the rows are gone, as prune_unused_files does: a crash leaves a stray file, never a row without one.
        blobs.delete(blob_name(sha))
        blobs.forget(sha)
    return len(unused)


def files_in_use(*, except_variants=None) -> set[str]:
    """Every StoredFile id something uses: items' files and thumbnails, variants' sources and
    files (but those of ``except_variants``), and what apps above registered (references.py)."""
    variant_files = VariantFile.objects.all()
    sources = MediaVariant.objects.all()
    if except_variants is not None:
        variant_files = variant_files.exclude(variant__in=except_variants)
        sources = sources.exclude(pk__in=except_variants)
    return (
        set(MediaItem.objects.filter(file__isnull=False).values_list("file_id", flat=True))
        | set(MediaItem.objects.filter(thumbnail__isnull=False).values_list("thumbnail_id", flat=True))
        | references.referenced_file_ids()
        | set(variant_files.values_list("file_id", flat=True))
        | set(sources.values_list("source_id", flat=True))
    )


# --- pruning -------------------------------------------------------------------------------------


@dataclass
class Pruned:
    variants: int
    files: int
    bytes: int


def prune_unused_files(*, before, dry_run: bool = False) -> Pruned:
    """Delete variants of bytes no item holds, then stored files nothing uses (see prune_media).

    "Uses" covers this app's items and variants and whatever the apps above registered in
    references.py (the request bodies runs logged, for one)."""
    held = MediaItem.objects.filter(file__isnull=False).values("file_id")
    orphan_variants = MediaVariant.objects.exclude(source_id__in=held).filter(created_at__lt=before)
    variant_count = orphan_variants.count()
    in_use = files_in_use(except_variants=orphan_variants)
    unused = StoredFile.objects.filter(created_at__lt=before).exclude(pk__in=in_use)
    files = list(unused.values_list("sha256", "size"))
    if not dry_run:
        with transaction.atomic():
            VariantFile.objects.filter(variant__in=orphan_variants).delete()
            orphan_variants.delete()
            StoredFile.objects.filter(pk__in=[sha for sha, _ in files]).delete()
        for sha, _ in files:
            # After the rows are gone: a crash here leaves stray files, never rows without files.
            blobs.delete(blob_name(sha))
            blobs.forget(sha)  # this machine's cached copies; other machines' age out (blobs.evict)
        if not blobs.is_local():
            blobs.evict()
    return Pruned(variants=variant_count, files=len(files), bytes=sum(size for _, size in files))


# --- temporary files ---------------------------------------------------------------------------

# Every writer of FILE_UPLOAD_TEMP_DIR lives far shorter than this: a web request is killed after
# gunicorn's --timeout (120 s), a task after CELERY_TASK_TIME_LIMIT, and a file being received is
# written to (its mtime renewed) chunk by chunk.
UPLOAD_TEMP_GRACE_S = 3600


@dataclass
class Swept:
    files: int
    bytes: int


def sweep_upload_temp(*, grace_s: float = UPLOAD_TEMP_GRACE_S) -> Swept:
    """Delete what killed processes left in FILE_UPLOAD_TEMP_DIR (a half-received upload, a URL
    fetch, an import's unpacked folder): every entry not modified for grace_s seconds. Run when
    a web process or the media worker starts, and by prune_media."""
    root = Path(settings.FILE_UPLOAD_TEMP_DIR)
    cutoff = time.time() - grace_s
    swept = Swept(0, 0)
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return swept
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                inside = [p.lstat() for p in Path(entry.path).rglob("*")]
                if max([entry.stat(follow_symlinks=False).st_mtime, *(st.st_mtime for st in inside)]) < cutoff:
                    shutil.rmtree(entry.path)
                    files = [st for st in inside if stat.S_ISREG(st.st_mode)]
                    swept.files += len(files)
                    swept.bytes += sum(st.st_size for st in files)
            else:
                st = entry.stat(follow_symlinks=False)
                if st.st_mtime < cutoff:
                    os.unlink(entry.path)
                    swept.files += 1
                    swept.bytes += st.st_size
        except FileNotFoundError:  # its owner finished and removed it meanwhile
            continue
    if swept.files:
        log.info("Removed %d stale temporary upload file(s), %.1f MB, from %s", swept.files, swept.bytes / 1e6, root)
    return swept
