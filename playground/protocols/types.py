"""The data the converters take and give back. Plain frozen dataclasses; no Django.

A prompt is built once (:class:`Prompt`), then rendered per :class:`Target` into a
:class:`RenderedRequest` whose ``body`` is a plain dict/list tree. Base64 media never enters that
tree as a string: its leaves are :class:`Base64Slot` objects pointing at a :class:`Payload`
(usually the ``.b64`` file kept beside a stored file). Those leaf types live in :mod:`.serialize`,
which streams them into the exact bytes and elides them in the display form; they are imported
here (and so still importable from this module) because a :class:`MediaPart` carries a Payload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from . import serialize
from .serialize import Base64Slot, Omitted, Payload

__all__ = [
    "DETAILS",
    "KINDS",
    "PROTOCOLS",
    "Auth",
    "Base64Slot",
    "Detail",
    "Fallback",
    "Kind",
    "MediaPart",
    "Message",
    "NotSendable",
    "Note",
    "Omitted",
    "Options",
    "Part",
    "Payload",
    "Problem",
    "Prompt",
    "Protocol",
    "Refusal",
    "RenderedRequest",
    "Sent",
    "Target",
    "TextPart",
]

Kind = Literal["image", "audio", "video", "pdf"]
Detail = Literal["auto", "low", "high", "original"]
Protocol = Literal["chat", "responses", "messages", "gemini"]

KINDS = ("image", "audio", "video", "pdf")
DETAILS = ("auto", "low", "high", "original")
PROTOCOLS = ("chat", "responses", "messages", "gemini")


# --- the prompt ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPart:
    """Text with ``{{variable}}`` placeholders (spaces inside the braces are allowed)."""

    text: str


@dataclass(frozen=True)
class MediaPart:
    """One image, audio clip, video or PDF.

    Either concrete (``delivery="inline"`` with a ``payload``, or ``delivery="url"`` with a
    ``url``), or a slot bound to ``variable`` whose value (a concrete MediaPart) is given at render
    time; the slot's ``detail`` applies when the value has none.

    ``frames`` are key frames of a video (image MediaParts, in order). They are sent instead of
    the video only when ``as_frames`` is true: sampling frames makes a different prompt, so it is
    the caller's explicit choice (see :meth:`with_frames`).

    ``optional``: a target that cannot take this part leaves it out, with a warning note, instead
    of refusing the request (the document's "optional": true; see _common.walk).
    """

    kind: Kind
    name: str = ""
    mime_type: str = ""
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None
    page_count: int | None = None
    frame_count: int | None = None  # images: more than 1 is an animation (GIF, APNG, WebP)
    size_bytes: int | None = None
    detail: Detail | None = None
    delivery: Literal["inline", "url"] = "inline"
    url: str | None = None
    payload: Payload | None = None
    frames: tuple[MediaPart, ...] = ()
    as_frames: bool = False
    variable: str | None = None
    optional: bool = False

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown media kind {self.kind!r}; expected one of {', '.join(KINDS)}.")
        if self.detail is not None and self.detail not in DETAILS:
            raise ValueError(f"Unknown detail {self.detail!r}; expected one of {', '.join(DETAILS)}.")
        if self.delivery not in ("inline", "url"):
            raise ValueError(f"Unknown delivery {self.delivery!r}; expected inline or url.")
        object.__setattr__(self, "frames", tuple(self.frames))
        for frame in self.frames:
            if not isinstance(frame, MediaPart) or frame.kind != "image":
                raise ValueError("Key frames must be image MediaParts.")
        if self.as_frames and (self.kind != "video" or not self.frames):
            raise ValueError("as_frames needs a video part with frames.")
        if self.variable is not None or self.as_frames:
            return
        if self.delivery == "url" and not self.url:
            raise ValueError("A URL-delivered MediaPart needs a url.")
        if self.delivery == "inline" and self.payload is None:
            raise ValueError("An inline MediaPart needs a payload.")
        if not self.mime_type:
            object.__setattr__(self, "mime_type", self.payload.mime_type if self.payload else "")

    @property
    def animated(self) -> bool:
        return self.kind == "image" and (self.frame_count or 1) > 1

    @property
    def is_slot(self) -> bool:
        return self.variable is not None

    def with_frames(self, frames: Sequence[MediaPart]) -> MediaPart:
        """This video, to be sent as the given key frames (image parts)."""
        return dataclasses.replace(self, frames=tuple(frames), as_frames=True)


Part = TextPart | MediaPart


@dataclass(frozen=True)
class Message:
    role: Literal["user", "assistant"]
    parts: tuple[Part, ...]

    def __post_init__(self):
        if self.role not in ("user", "assistant"):
            raise ValueError(f"Unknown role {self.role!r}; expected user or assistant.")
        object.__setattr__(self, "parts", tuple(self.parts))


@dataclass(frozen=True)
class Options:
    max_tokens: int | None = None
    temperature: float | None = None
    json_schema: dict | None = None
    schema_name: str | None = None  # default "response" (OpenAI requires a name)
    strict: bool = True  # OpenAI strict schema adherence


@dataclass(frozen=True)
class Prompt:
    """``system`` is text (with placeholders), or parts: media there is refused by every protocol."""

    system: str | tuple[Part, ...] = ""
    messages: tuple[Message, ...] = ()
    options: Options = field(default_factory=Options)

    def __post_init__(self):
        if not isinstance(self.system, str):
            object.__setattr__(self, "system", tuple(self.system))
        object.__setattr__(self, "messages", tuple(self.messages))

    @property
    def system_parts(self) -> tuple[Part, ...]:
        if isinstance(self.system, str):
            return (TextPart(self.system),) if self.system else ()
        return self.system

    def replace_part(self, message_index: int, part_index: int, part: Part) -> Prompt:
        """A copy with one part replaced (e.g. by the variant a Fallback asked for)."""
        messages = list(self.messages)
        parts = list(messages[message_index].parts)
        parts[part_index] = part
        messages[message_index] = dataclasses.replace(messages[message_index], parts=tuple(parts))
        return dataclasses.replace(self, messages=tuple(messages))


@dataclass(frozen=True)
class Target:
    """Where a prompt goes: a protocol, a model and the provider's settings.

    ``inputs``: the media kinds the model takes (None: whatever the protocol can carry).
    ``gateway``: an OpenAI-compatible gateway (OpenRouter, vLLM...) taking the ``video_url`` part,
    PDF URLs in ``file.file_data`` and more audio formats; Chat Completions only.
    ``clamp_temperature``: opt in to clamping an out-of-range temperature (with a warning)
    instead of a refusal.

    The configured model's own limits (a catalog ProviderModel, or a preset), checked by
    limits.py on top of the protocol's documented ones; None means "the protocol's rules only":
    ``image_formats`` (MIME types), ``max_image_edge`` (px, long edge), ``max_images`` (per
    request; Anthropic counts PDF documents with the images, limits.py), ``accepts_urls`` (False:
    media go inline only, URL parts from their stored copy).
    ``label``: how the preview names this target (e.g. "Claude Sonnet 4.6 (Anthropic)").
    """

    protocol: Protocol
    model: str
    base_url: str | None = None
    api_version: str | None = None  # Anthropic: anthropic-version (default 2023-06-01); Gemini: v1beta
    gateway: bool = False
    system_role: Literal["system", "developer"] = "system"  # Chat only
    inputs: frozenset[str] | None = None
    api_key_env: str | None = None
    default_max_tokens: int = 1024  # applied (with a note) where the protocol requires max tokens
    clamp_temperature: bool = False
    image_formats: frozenset[str] | None = None
    max_image_edge: int | None = None
    max_images: int | None = None
    accepts_urls: bool = True
    label: str = ""

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"Unknown protocol {self.protocol!r}; expected one of {', '.join(PROTOCOLS)}.")
        if self.system_role not in ("system", "developer"):
            raise ValueError("system_role must be 'system' or 'developer'.")
        if self.inputs is not None:
            object.__setattr__(self, "inputs", frozenset(self.inputs))
        if self.image_formats is not None:
            object.__setattr__(self, "image_formats", frozenset(self.image_formats))


# --- what rendering reports ------------------------------------------------------------------------


@dataclass(frozen=True)
class Fallback:
    """What the caller can do to carry a refused part, or a setting, anyway.

    kind "variant":   make ``spec`` (a ``VariantSpec.key()``, e.g. ``image:format=png``) from the
                      part's file and send the variant in its place (``Prompt.replace_part``).
    kind "keyframes": make ``spec`` (``keyframes:...``) and send the video as those frames
                      (``MediaPart.with_frames``), or, when the part has frames already, set
                      ``as_frames``.
    kind "inline":    download the URL and send the bytes inline (changes what is sent).
    kind "option":    set the Target option named ``spec`` (e.g. ``clamp_temperature``).
    """

    kind: Literal["variant", "keyframes", "inline", "option"]
    label: str
    spec: str | None = None


@dataclass(frozen=True)
class Note:
    """A visible change: a setting dropped, a default applied, a conversion. ``level`` is
    "warning" when the change loses something the user asked for."""

    where: str
    message: str
    level: Literal["info", "warning"] = "info"
    message_index: int | None = None
    part_index: int | None = None


@dataclass(frozen=True)
class Refusal:
    """Something this target cannot carry. ``message_index`` is None for the system prompt and
    for settings (then ``modality`` is "setting" and ``where`` names it)."""

    message_index: int | None
    part_index: int | None
    modality: str
    reason: str
    fallback: Fallback | None = None
    where: str = ""


@dataclass(frozen=True)
class Problem:
    """A mistake in the prompt or its values (missing variable, bad option), not a protocol limit.
    Errors make the request unsendable; warnings (e.g. an unused value) do not."""

    where: str
    message: str
    level: Literal["error", "warning"] = "error"
    variable: str | None = None


@dataclass(frozen=True)
class Sent:
    """One piece of content that made it into the body, for token estimates."""

    role: str  # "system" | "user" | "assistant"
    text: str | None = None
    media: MediaPart | None = None
    message_index: int | None = None
    part_index: int | None = None


@dataclass(frozen=True)
class Auth:
    """How the sender inserts the real key: ``headers[header] = template.format(key=key)``."""

    header: str
    template: str
    env: str

    @property
    def placeholder(self) -> str:
        return self.template.format(key="$" + self.env)


@dataclass
class RenderedRequest:
    protocol: Protocol
    target: Target
    url: str
    method: str
    headers: dict  # API key masked as $ENV_NAME
    auth: Auth
    body: dict
    notes: list[Note]
    refusals: list[Refusal]
    problems: list[Problem]
    sent: list[Sent]

    @property
    def ok(self) -> bool:
        """True when the request can be sent: no refusal and no error-level problem."""
        return not self.refusals and not any(p.level == "error" for p in self.problems)

    def headers_with_key(self, key: str) -> dict:
        headers = dict(self.headers)
        headers[self.auth.header] = self.auth.template.format(key=key)
        return headers

    def display(self) -> str:
        return serialize.display_json(self.body)

    def _check_sendable(self):
        if not self.ok:
            reasons = [r.reason for r in self.refusals] + [p.message for p in self.problems if p.level == "error"]
            raise NotSendable(f"This {self.protocol} request cannot be sent: " + " ".join(reasons))

    def body_bytes(self) -> bytes:
        self._check_sendable()
        return serialize.body_bytes(self.body)

    def iter_body(self, chunk: int = 1 << 20) -> Iterator[bytes]:
        self._check_sendable()
        return serialize.iter_body(self.body, chunk=chunk)

    def body_size(self) -> int | None:
        """Bytes the body will take, or None while parts are refused."""
        try:
            return serialize.body_size(self.body)
        except ValueError:
            return None


class NotSendable(Exception):
    """The request has refusals or errors; ``str(exc)`` lists them."""
