"""The upload cap for evaluation-set ZIPs: larger than a media file's (a set of 1,000 photos is
hundreds of MB), smaller than unbounded. PRISM_EVAL_ZIP_MAX_MB (default 2048) if settings name it.

Each member inside is still held to MAX_UPLOAD_BYTES, and the unpacked total to imports.MAX_TOTAL_BYTES."""

from django.conf import settings

from playground.uploads.upload_handlers import CappedUploadHandler, OversizeUpload

DEFAULT_ZIP_MAX_MB = 2048


def zip_max_mb() -> int:
    return int(getattr(settings, "PRISM_EVAL_ZIP_MAX_MB", DEFAULT_ZIP_MAX_MB))


def zip_max_bytes() -> int:
    return zip_max_mb() * 1024 * 1024


class ArchiveUploadHandler(CappedUploadHandler):
    """CappedUploadHandler with the ZIP cap: past it, the rest is swallowed and the view gets an
    OversizeUpload marker."""

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > zip_max_bytes():
            self.oversize = True
            return None
        return raw_data


__all__ = ["ArchiveUploadHandler", "OversizeUpload", "zip_max_bytes", "zip_max_mb"]
