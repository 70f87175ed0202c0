"""Sending stored media to a browser: true content type, never sniffed, never active content.

Range requests are answered so that video and audio players can seek. Bytes are streamed from
the storage, the local media folder or the bucket, never read whole into memory.
"""

import re
from urllib.parse import quote

from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

# Only types we produced by decoding are ever served; anything else goes as a download.
INLINE_TYPES_PREFIXES = ("image/", "audio/", "video/")
INLINE_REFUSED = {"image/svg+xml"}
RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 256 * 1024


def serve_stored_file(request, stored, *, filename: str, cache_seconds: int = 0, signed_redirect: bool = False) -> HttpResponse:
    """Answer with stored's bytes (a StoredFile: open_range, signed_url). signed_redirect=True lets
    a member's view redirect to a presigned GET when PRISM_S3_SIGNED_URLS is on. Off by default:
    a signed URL stays valid until it expires, so access that must end the moment it is withdrawn
    (a share link) keeps going through Prism."""
    mime = stored.mime_type
    inline = mime.startswith(INLINE_TYPES_PREFIXES) and mime not in INLINE_REFUSED
    size = stored.size
    status, start, end = 200, 0, size - 1
    if match := RANGE_RE.match(request.headers.get("Range", "")):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last), size - 1) if last else size - 1
        elif last:
            start, end = max(size - int(last), 0), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        status = 206

    disposition = f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(filename)}"
    # With the bucket and PRISM_S3_SIGNED_URLS: a redirect to a presigned GET that expires in
    # minutes, its type and disposition forced by the signature (the bucket answers Range itself).
    if signed_redirect and (url := stored.signed_url(disposition=disposition, cache_seconds=cache_seconds)):
        response = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"  # a fresh signature each time
        return response
    try:
        # Streamed from the storage (a local file, or the bucket's GET with the same Range).
        handle = stored.open_range(start, end if status == 206 else None)
    except FileNotFoundError:
        raise Http404("This file is missing from storage.") from None
    if status == 206:
        response = StreamingHttpResponse(_read_range(handle, end - start + 1), status=206, content_type=mime)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(handle, content_type=mime)
        response["Content-Length"] = str(size)
    response["Content-Disposition"] = disposition
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    # Even if a decoder were fooled, the browser runs nothing from a media response.
    response["Content-Security-Policy"] = "default-src 'none'; media-src 'self'; img-src 'self'; sandbox"
    response["Cache-Control"] = f"private, max-age={cache_seconds}" if cache_seconds else "private, no-cache"
    return response


def _read_range(handle, remaining: int):
    try:
        while remaining > 0:
            chunk = handle.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
