"""Fitting a prompt to one model: the automatic fallbacks a run applies, shared by runs' preflight
and the preview column of a configured model, so that a run sends exactly what the column showed.

    fitted = fit(doc, values, source, target, key="messages")
    fitted.built, fitted.rendered, [c.text for c in fitted.changes]

When a part is refused and the refusal offers a *variant* (a PNG/JPEG/MP3 copy, a smaller copy)
or *key frames* (a video as stills), that fallback is applied, exactly as the editor's button
would (the part's ``"variant"`` option), and recorded as a :class:`Change` in words. The prompt
is built and rendered again (a variant may need another: a HEIC too big), up to MAX_ROUNDS
times. The model's own limits (image formats, edge, count, inline only: Target fields filled from
the catalog model) are refusals of protocols/limits.py like the documented ones, with variant
fallbacks where a copy fixes them. A refusal without such a fallback stays a refusal. Other fallbacks (downloading a URL,
clamping a setting) change what is asked, so they stay the user's choice in the editor.

``key`` is the target's preview column key (previews.column_key): the document's per-target
fallbacks ("variant_for", document.for_target) are resolved for it first.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from playground.prompts.columns import column_key
from playground.prompts.document import (
    Built,
    MediaPending,
    MediaProblem,
    MediaSource,
    PartIssue,
    build_prompt,
    for_target,
    normalize,
)
from playground.prompts.sources import variant_options
from playground.protocols import RenderedRequest, Target, render

__all__ = ["MAX_ROUNDS", "Change", "Fitted", "fit", "sent_media"]

MAX_ROUNDS = 4  # rounds of fallbacks, each checked again (a variant may need another: HEIC too big)
FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}


@dataclass(frozen=True)
class Change:
    """One fallback applied, in words (the run logs it as "changed: <text>"), and where."""

    text: str
    message_index: int | None = None
    part_index: int | None = None
    variable: str | None = None

    def __str__(self) -> str:
        return self.text


@dataclass
class Fitted:
    built: Built
    rendered: RenderedRequest
    changes: list[Change] = field(default_factory=list)


def sent_media(rendered: RenderedRequest) -> dict:
    """What the body carries that a model may price apart from tokens: images, audio seconds."""
    images = sum(1 for s in rendered.sent if s.media is not None and s.media.kind == "image")
    audio_s = sum(s.media.duration_s or 0 for s in rendered.sent if s.media is not None and s.media.kind == "audio")
    return {"images": images, "audio_s": round(audio_s, 3)}


def describe_variant(kind: str, options: dict) -> str:
    if "frames" in options:
        return f"{options['frames']} key frames (stills, not the video)"
    bits = []
    if options.get("format"):
        bits.append(f"a {FORMAT_NAMES.get(options['format'], options['format'].upper())} copy")
    if options.get("max_edge"):
        bits.append(f"{'scaled' if bits else 'a copy scaled'} to at most {options['max_edge']} px")
    return " ".join(bits) or "a converted copy"


class _Doc:
    """The document and values being adjusted, plus variants for media given by variables."""

    def __init__(self, doc: dict, values: dict | None):
        self.doc = copy.deepcopy(doc)
        self.values = dict(values or {})
        self.var_variants: dict[str, dict] = {}

    def build(self, source: MediaSource) -> Built:
        built = build_prompt(self.doc, source, self.values)
        for name, options in self.var_variants.items():
            raw = self.values.get(name, self.doc["variables"].get(name))
            if isinstance(raw, dict) and "media" in raw:
                try:
                    built.values[name] = source.media_part(raw["media"], detail=None, send="inline", variant=options)
                except MediaProblem as exc:
                    built.issues.append(PartIssue(None, None, f"variable {{{{{name}}}}}", str(exc),
                                                  pending=isinstance(exc, MediaPending)))
        return built

    def apply(self, mi: int, pi: int, options: dict) -> tuple[bool, str]:
        """Merge variant options into the part at (mi, pi) (or its variable). (changed, name)."""
        try:
            part = self.doc["messages"][mi]["parts"][pi]
        except (IndexError, KeyError):
            return False, ""
        if "media" in part:
            merged = dict(options) if "frames" in options else {**(part.get("variant") or {}), **options}
            if part.get("variant") == merged:
                return False, ""
            part["variant"] = merged
            part.pop("send", None)  # a variant is sent inline
            return True, ""
        name = part.get("media_variable")
        if name is None:
            return False, ""
        merged = dict(options) if "frames" in options else {**self.var_variants.get(name, {}), **options}
        if self.var_variants.get(name) == merged:
            return False, name
        self.var_variants[name] = merged
        return True, name


def _subject(where: str, var: str, media, kind: str) -> str:
    if var:
        return f"{{{{{var}}}}}"
    name = f" “{media.name}”" if media is not None and media.name else ""
    return f"{where}: {kind}{name}"


def fit(doc: dict, values: dict | None, source: MediaSource, target: Target, *, key: str | None = None) -> Fitted:
    """``doc`` (a prompt document) with ``values``, fitted to ``target`` (see the module docstring)."""
    state = _Doc(for_target(normalize(doc), key or column_key(target)), values)
    changes: list[Change] = []
    built = rendered = None
    for round_ in range(MAX_ROUNDS + 1):
        built = state.build(source)
        rendered = render(built.prompt, built.values, target)
        if round_ == MAX_ROUNDS:
            break  # the last round's changes are in this body; what is still refused stays refused
        changed = False
        for refusal in rendered.refusals:
            fb = refusal.fallback
            if fb is None or fb.kind not in ("variant", "keyframes") or refusal.message_index is None or refusal.part_index is None:
                continue
            options = variant_options(fb.spec) if fb.spec else {"frames": 8}
            did, var = state.apply(refusal.message_index, refusal.part_index, options)
            if did:
                changed = True
                media = built.media.get((refusal.message_index, refusal.part_index))
                subject = _subject(refusal.where, var, media, refusal.modality)
                changes.append(Change(f"{subject}: {refusal.modality} sent as {describe_variant(refusal.modality, options)} "
                                      f"({refusal.reason})", refusal.message_index, refusal.part_index, var or None))
        if not changed:
            break
    return Fitted(built, rendered, changes)
