"""Resolving a document's {"item": id} references through the team's media library.

Payloads point at the base64 text kept beside each stored file, so a preview reads no media
bytes and the exact body is spliced from those files. Variants come from the variant cache.
"""

from __future__ import annotations

from typing import Any

from playground.lib.ids import parse_id
from playground.prompts.document import MediaPending, MediaProblem
from playground.prompts.fitting import describe_variant
from playground.prompts.sources import part_from_outputs, url_part, variant_spec
from playground.protocols import MediaPart, Payload
from playground.uploads import services
from playground.uploads.models import MediaItem
from playground.uploads.variants import VariantError


def item_id_of(ref: Any) -> int | None:
    if isinstance(ref, dict) and set(ref) == {"item"}:
        ref = ref["item"]
    # Only an id a database can hold (a huge or infinite number in a tampered form is no item).
    return parse_id(ref)


class LibrarySource:
    """``make_variants=False`` (a GET: no writes): a variant not made yet is a MediaPending issue
    on its part, not made on the spot."""

    def __init__(self, team, *, make_variants: bool = True):
        self.team = team
        self.make_variants = make_variants
        self._items: dict[int, MediaItem] = {}

    def prefetch(self, ids) -> None:
        wanted = {i for i in ids if i is not None} - set(self._items)
        if wanted:
            for item in MediaItem.objects.filter(team=self.team, pk__in=wanted).select_related("file"):
                self._items[item.pk] = item

    def item(self, ref: Any) -> MediaItem:
        item_id = item_id_of(ref)
        if item_id is None:
            raise MediaProblem(f"A library media reference is {{\"item\": id}}, not {ref!r}.")
        self.prefetch([item_id])
        if item_id not in self._items:
            raise MediaProblem(f"Media item {item_id} is not in this team's library (deleted, or another team's).")
        return self._items[item_id]

    def items(self, ids) -> dict[int, MediaItem]:
        """The team's items among ``ids``, by id (fetched in one query); an id not in the library is left out."""
        self.prefetch(ids)
        return {i: self._items[i] for i in ids if i in self._items}

    def media_part(self, ref: Any, *, detail: str | None, send: str, variant: dict | None) -> MediaPart:
        if isinstance(ref, dict) and "url" in ref:
            return url_part(ref, detail=detail, send=send, variant=variant)
        item = self.item(ref)
        if send == "url":
            return self._url_part(item, detail=detail, variant=variant)
        if item.file_id is None:
            raise MediaProblem(
                f"“{item.name}” is a URL reference: its bytes are not stored. Send it as a URL, "
                "or add it again with “Fetch and store a copy”."
            )
        if variant:
            spec = variant_spec(item.kind, variant)
            try:
                made = services.get_variant(item, spec) if self.make_variants else services.ready_variant(item, spec)
            except (VariantError, services.VariantUnavailable) as exc:
                raise MediaProblem(f"“{item.name}”: {exc}") from None
            if made is None:
                raise MediaPending(f"“{item.name}”: {describe_variant(item.kind, variant)} is being made; "
                                   "the preview updates when it is ready.")
            outputs = [
                (Payload(mime_type=vf.file.mime_type, raw_size=vf.file.size, path=vf.file.base64_path()), vf.details)
                for vf in made.ordered_files()
            ]
            return part_from_outputs(item.kind, outputs, name=item.name, detail=detail,
                                     source_info={"mime_type": item.mime_type, "duration_s": item.duration_s,
                                                  "width": item.width, "height": item.height})
        stored = item.file
        return MediaPart(
            kind=item.kind, name=item.name, mime_type=item.mime_type, width=item.width, height=item.height,
            duration_s=item.duration_s, page_count=item.page_count, frame_count=item.frame_count,
            size_bytes=item.size, detail=detail,
            payload=Payload(mime_type=stored.mime_type, raw_size=stored.size, path=stored.base64_path()),
        )

    @staticmethod
    def _url_part(item: MediaItem, *, detail: str | None, variant: dict | None) -> MediaPart:
        """The item sent by its source URL. An item added with "Fetch and store a copy" carries that
        copy as the payload too: a protocol that cannot fetch the URL is sent the copy inline, with
        a note (protocols/urls.py). A URL reference carries none, so such a protocol refuses it."""
        if not item.source_url:
            # Prism serves stored media to the item's team only: no provider can fetch Prism's own link.
            raise MediaProblem(
                f"“{item.name}” was uploaded, so it has no public URL a provider could fetch "
                "(Prism's own media links open for your team only). Choose “inline base64” for this part."
            )
        if variant:
            raise MediaProblem(
                f"“{item.name}” is sent by URL, and the provider fetches the original: a converted copy cannot "
                "go by URL. Choose “inline base64” for this part to send the copy."
            )
        stored = item.file
        payload = (
            Payload(mime_type=stored.mime_type, raw_size=stored.size, path=stored.base64_path()) if stored is not None else None
        )
        return MediaPart(kind=item.kind, name=item.name, mime_type=item.mime_type, width=item.width,
                         height=item.height, duration_s=item.duration_s, page_count=item.page_count,
                         frame_count=item.frame_count, size_bytes=item.size, delivery="url",
                         url=item.source_url, detail=detail, payload=payload)
