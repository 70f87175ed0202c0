"""Media sources for prompt documents: files on disk (no Django) and variant options.

FileSource serves `manage.py preview PROMPT.json` and imports: media paths are relative to the
document, the type is read from the bytes, and variants are made on the spot (no database). The
library's source (library_source.py) resolves {"item": id} through stored files and cached variants.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from playground.prompts.document import MediaProblem
from playground.protocols import MediaPart, Payload
from playground.uploads import identify, variants
from playground.uploads.variants import VariantError, VariantSpec


def variant_spec(kind: str, variant: dict) -> VariantSpec:
    """A document's "variant" options as a VariantSpec. Raises MediaProblem with the reason."""
    try:
        if kind == "image":
            return VariantSpec.image(
                max_edge=variant.get("max_edge"), format=variant.get("format"), quality=variant.get("quality", 85)
            )
        if kind == "audio":
            return VariantSpec.audio(
                format=variant.get("format", "mp3"),
                sample_rate=variant.get("sample_rate"),
                channels=variant.get("channels"),
            )
        if kind == "video":
            if "frames" not in variant:
                raise MediaProblem("A video variant is sent as key frames: give \"frames\" (how many).")
            return VariantSpec.keyframes(count=variant["frames"], max_edge=variant.get("max_edge"))
    except VariantError as exc:
        raise MediaProblem(str(exc)) from None
    raise MediaProblem(f"{kind.upper()} files are sent as they are; there is no variant to choose.")


def variant_options(spec_key: str) -> dict:
    """The document "variant" options for a VariantSpec key (e.g. a protocol's suggested fallback)."""
    spec = VariantSpec.parse(spec_key)
    params = dict(spec.params)
    if spec.kind == "keyframes":
        return {"frames": params["count"], **({"max_edge": params["max_edge"]} if "max_edge" in params else {})}
    return params


def part_from_outputs(kind: str, outputs: list[tuple[Payload, dict]], *, name: str,
                      detail: str | None, source_info: dict) -> MediaPart:
    """A MediaPart for a prepared variant: one output (image, audio) or key frames (video)."""
    if kind == "video":
        frames = tuple(
            MediaPart(kind="image", name=f"{name} @ {d.get('time_s', 0):.1f}s", mime_type=p.mime_type,
                      width=d.get("width"), height=d.get("height"), size_bytes=p.raw_size, payload=p,
                      detail=detail)
            for p, d in outputs
        )
        return MediaPart(kind="video", name=name, mime_type=source_info["mime_type"],
                         duration_s=source_info.get("duration_s"), width=source_info.get("width"),
                         height=source_info.get("height"), frames=frames, as_frames=True, detail=detail)
    payload, details = outputs[0]
    return MediaPart(
        kind=kind, name=name, mime_type=payload.mime_type, width=details.get("width"),
        height=details.get("height"), duration_s=details.get("duration_s", source_info.get("duration_s")),
        size_bytes=payload.raw_size, payload=payload, detail=detail,
    )


URL_SCHEMES = ("https://", "http://", "gs://")  # gs:// is Gemini's (Cloud Storage), docs/protocols.md §4


def url_part(ref: dict, *, detail: str | None, send: str, variant: dict | None = None) -> MediaPart:
    """{"url": ..., "kind": ..., "mime_type": ...}: media sent by URL, never fetched. Prism holds no
    copy of it, so a protocol that cannot fetch the URL refuses the part (protocols/urls.py)."""
    if send != "url":
        raise MediaProblem(
            "Media given by URL is sent as a URL (Prism has no copy of its bytes); set \"send\": \"url\", "
            "or add it to the library with “Fetch and store a copy” to send it inline."
        )
    if variant:
        raise MediaProblem("Media given by URL is fetched by the provider as it is: a converted copy (variant) cannot go by URL.")
    url = ref["url"]
    if not isinstance(url, str) or not url.lower().startswith(URL_SCHEMES):
        raise MediaProblem(f"A media URL starts with https:// (or http://, or gs:// for Gemini), not {str(url)[:80]!r}.")
    kind, mime = ref.get("kind"), ref.get("mime_type")
    if kind not in ("image", "audio", "video", "pdf") or not mime:
        raise MediaProblem("Media given by URL needs \"kind\" and \"mime_type\" (it is not fetched).")
    return MediaPart(kind=kind, name=ref.get("name") or ref["url"].rsplit("/", 1)[-1], mime_type=mime,
                     width=ref.get("width"), height=ref.get("height"), duration_s=ref.get("duration_s"),
                     page_count=ref.get("page_count"), delivery="url", url=ref["url"], detail=detail)


class FileSource:
    """Media files next to a PROMPT.json. With confine=True (imports) paths may not leave base_dir."""

    def __init__(self, base_dir: Path, *, confine: bool = False, max_image_pixels: int = 100_000_000):
        self.base_dir = Path(base_dir).resolve()
        self.confine = confine
        self.max_image_pixels = max_image_pixels
        self._info: dict[Path, identify.MediaInfo] = {}

    def path_of(self, ref: Any) -> Path:
        if not isinstance(ref, str) or not ref:
            raise MediaProblem(f"A media reference here is a file path, not {ref!r}.")
        path = (self.base_dir / ref).resolve()
        if self.confine and not path.is_relative_to(self.base_dir):
            raise MediaProblem(f"{ref}: media paths must stay inside the prompt's folder.")
        if not path.is_file():
            raise MediaProblem(f"{ref}: no such file.")
        return path

    def info(self, path: Path) -> identify.MediaInfo:
        if path not in self._info:
            try:
                self._info[path] = identify.inspect_file(path, max_image_pixels=self.max_image_pixels)
            except identify.MediaRejected as exc:
                raise MediaProblem(f"{path.name}: {exc}") from None
        return self._info[path]

    def media_part(self, ref: Any, *, detail: str | None, send: str, variant: dict | None) -> MediaPart:
        if isinstance(ref, dict) and "url" in ref:
            return url_part(ref, detail=detail, send=send, variant=variant)
        path = self.path_of(ref)
        if send == "url":
            raise MediaProblem(f"{ref}: a local file has no URL to send; send it inline.")
        info = self.info(path)
        if variant:
            spec = variant_spec(info.kind, variant)
            try:
                outputs = variants.make_variant(path, info, spec)
            except VariantError as exc:
                raise MediaProblem(f"{ref}: {exc}") from None
            made = [(Payload.from_bytes(o.data, o.mime_type), o.details) for o in outputs]
            return part_from_outputs(info.kind, made, name=path.name, detail=detail,
                                     source_info={"mime_type": info.mime_type, "duration_s": info.duration_s,
                                                  "width": info.width, "height": info.height})
        data = path.read_bytes()
        return MediaPart(
            kind=info.kind, name=path.name, mime_type=info.mime_type, width=info.width, height=info.height,
            duration_s=info.duration_s, page_count=info.page_count, frame_count=info.frame_count,
            size_bytes=len(data), detail=detail,
            payload=Payload(mime_type=info.mime_type, raw_size=len(data), text=base64.b64encode(data).decode("ascii")),
        )
