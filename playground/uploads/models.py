import base64
from pathlib import Path

from django.conf import settings
from django.db import models

from playground.accounts.models import Team
from playground.uploads import blobs


class StoredFile(models.Model):
    """Bytes stored once by content: the same bytes uploaded twice, by anyone, are one file.

    Teams never see StoredFile directly; they see MediaItems that point at one.
    """

    sha256 = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({self.mime_type}, {self.size} B)"

    @property
    def name(self) -> str:
        return blob_name(self.sha256)

    @property
    def path(self) -> Path:
        """The file in the local media folder; only with the local storage. Use local_path()."""
        if not blobs.is_local():
            raise NotImplementedError("StoredFile.path exists only for the local media folder; use local_path()")
        return blobs.local_file(self.name)

    def local_path(self) -> Path:
        """A local file with these bytes, whichever storage holds them: the media folder's own
        file, or this machine's cached copy of the bucket's object (downloaded if need be).
        FileNotFoundError if the bytes are gone."""
        if blobs.is_local():
            path = blobs.local_file(self.name)
            if not path.exists():
                raise FileNotFoundError(f"{self.name} is missing from the media folder")
            return path
        return blobs.cached_copy(self.name, self.sha256)

    def exists(self) -> bool:
        """Whether the storage holds these bytes (the bucket is asked; a cached copy is not enough)."""
        return blobs.exists(self.name)

    def open(self):
        return open(self.local_path(), "rb")  # the caller closes it

    def open_range(self, start: int = 0, end: int | None = None):
        """Bytes start..end (inclusive) as a stream, straight from the storage (no local copy)."""
        return blobs.open_range(self.name, start, end)

    def signed_url(self, *, disposition: str, cache_seconds: int = 0) -> str | None:
        """A short-lived presigned GET of the bucket's object when PRISM_S3_SIGNED_URLS is on, else None."""
        if blobs.is_local() or not settings.PRISM_S3_SIGNED_URLS:
            return None
        return blobs.signed_url(self.name, mime_type=self.mime_type, disposition=disposition, cache_seconds=cache_seconds)

    def read_bytes(self) -> bytes:
        return self.local_path().read_bytes()

    def base64_path(self) -> Path:
        """The base64 text of this file, computed once and kept beside it (read by previews and
        runs): in the media folder, or in this machine's cache with the bucket. Either way it is
        named <sha256>.b64, which runs/bodies.py reads back as the file's reference."""
        source = self.local_path()
        if blobs.is_local():
            target = source.with_name(source.name + ".b64")
        else:
            target = blobs.cache_path(self.sha256, ".b64")
            if blobs.touch(target):
                return target
        if not target.exists():
            with open(source, "rb") as src:
                blobs.write_atomically(target, iter(lambda: base64.b64encode(src.read(BASE64_CHUNK)), b""))
            if not blobs.is_local():
                blobs.evict()
        return target

    def base64_text(self) -> str:
        return self.base64_path().read_text("ascii")


# A multiple of 3 bytes, so encoding chunk by chunk gives exactly the whole-file encoding.
BASE64_CHUNK = 3 * 1024 * 1024


def blob_name(sha256: str) -> str:
    return f"blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class MediaItemQuerySet(models.QuerySet):
    def for_team(self, team: Team) -> "MediaItemQuerySet":
        return self.filter(team=team)

    def visible_to(self, user) -> "MediaItemQuerySet":
        return self.filter(team__memberships__user=user)


class MediaItem(models.Model):
    """An uploaded or referenced file in a team's library, checked by decoding it."""

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        VIDEO = "video", "Video"
        PDF = "pdf", "PDF"

    class Source(models.TextChoices):
        UPLOAD = "upload", "Uploaded"
        URL_FETCHED = "url_fetched", "Fetched from URL"
        URL_REFERENCE = "url_reference", "URL reference"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="media_items")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.UPLOAD)
    source_url = models.URLField(max_length=2000, blank=True)
    # Null for a URL reference: its bytes were checked once, then not kept.
    file = models.ForeignKey(StoredFile, null=True, blank=True, on_delete=models.PROTECT, related_name="items")
    thumbnail = models.ForeignKey(
        StoredFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="thumbnail_of"
    )
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.BigIntegerField()
    mime_type = models.CharField(max_length=100)
    format = models.CharField(max_length=40)  # what the decoder found: PNG, JPEG, wav, mp3, mov,mp4...
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    # Codec, sample rate, channels, frame rate, animation...: whatever the decoder reported.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MediaItemQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Within a team, the same stored bytes are one library item (a second upload finds the first).
            models.UniqueConstraint(
                fields=["team", "sha256"],
                condition=~models.Q(source="url_reference"),
                name="one_stored_item_per_content_per_team",
            ),
        ]
        indexes = [models.Index(fields=["team", "kind", "-created_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def is_reference(self) -> bool:
        return self.source == self.Source.URL_REFERENCE

    @property
    def dimensions(self) -> str:
        return f"{self.width}×{self.height}" if self.width and self.height else ""


class MediaVariant(models.Model):
    """A prepared form of stored bytes (resized image, converted audio, key frames), made once.

    Keyed by the source bytes and a canonical spec, so every item with the same content, in any
    team, shares it. The work runs in Celery or inline; its outcome is written here.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    source = models.ForeignKey(StoredFile, on_delete=models.CASCADE, related_name="variants")
    spec = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    # One file for most variants; key frames are several, in order.
    files = models.ManyToManyField(StoredFile, through="VariantFile", related_name="+")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "spec"], name="one_variant_per_spec")]

    def __str__(self) -> str:
        return f"{self.spec} of {self.source_id[:12]}"

    def ordered_files(self) -> list["VariantFile"]:
        return list(self.variant_files.select_related("file").order_by("position"))


class VariantFile(models.Model):
    variant = models.ForeignKey(MediaVariant, on_delete=models.CASCADE, related_name="variant_files")
    file = models.ForeignKey(StoredFile, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)  # width/height, or a key frame's time

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["variant", "position"], name="one_file_per_position")]

    def __str__(self) -> str:
        return f"file {self.position} of variant {self.variant_id}"


class RefusedFile(models.Model):
    """Bytes that were checked and refused, with the reason: the same bytes sent again (by anyone)
    are refused at once instead of being decoded again, which is what makes re-sending a
    decompression bomb cheap. ``limits`` names the limits it was checked under; once they change,
    the bytes are checked afresh."""

    sha256 = models.CharField(max_length=64, primary_key=True)
    reason = models.TextField()
    limits = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.sha256[:12]}: {self.reason}"
