"""The prompt document: one JSON shape for saved versions, PROMPT.json files and exports.

No Django here. A document names its media by reference; a resolver (see media_sources.py)
turns each reference into a protocols.MediaPart. The editor, `manage.py preview` and import all
go through build_prompt, so they render identically.

    {
      "system": "You are a careful visual analyst.",
      "messages": [
        {"role": "user", "parts": [
          {"text": "Describe {{subject}} in this picture."},
          {"media": "photo.png", "detail": "high"},                 # a file (CLI) or {"item": 12} (library)
          {"media": "clip.wav", "variant": {"format": "mp3"}},       # send a prepared variant
          {"media_variable": "photo", "kind": "image"}               # a slot filled from a variable
        ]}
      ],
      "variables": {"subject": "the main object", "photo": {"media": "cat.png"}},
      "options": {"max_tokens": 300, "temperature": 0.2, "json_schema": {...}, "schema_name": "answer"}
    }

Per media part: "detail" (auto/low/high/original), "send" ("inline", default, or "url" when the
media has a public URL), "variant" (image: max_edge/format/quality; audio: format/sample_rate/
channels; video: frames/max_edge to send key frames instead of the video).

A fallback chosen for one target only: "variant_for" maps a target key (chat, responses,
messages, gemini, gateway: the preview's column keys) to the variant that target gets instead
of "variant" (e.g. key frames for Chat while Gemini keeps the video). "optional": true leaves
the part out, with a warning, for targets that cannot take it, instead of refusing the request.
:func:`for_target` resolves "variant_for" for one target before building.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from typing import Any, Protocol

from playground.protocols import MediaPart, Message, Options, Prompt, TextPart

ROLES = ("user", "assistant")
TARGET_KEYS = ("chat", "responses", "messages", "gemini", "gateway")
DETAILS = ("auto", "low", "high", "original")
KINDS = ("image", "audio", "video", "pdf")
OPTION_KEYS = ("max_tokens", "temperature", "json_schema", "schema_name", "strict")


# Variable names of the placeholders build_prompt puts where media could not be resolved. They
# keep every later part at its document index; the renderer's "no media given" problem for them
# repeats the PartIssue, so callers drop it (is_placeholder_problem).
UNRESOLVED = "\x00unresolved"


def is_placeholder_problem(problem) -> bool:
    return (getattr(problem, "variable", None) or "").startswith(UNRESOLVED)


class DocumentError(ValueError):
    """The document's shape is wrong; str(exc) says where and how."""


class MediaProblem(Exception):
    """A media reference that cannot be resolved (missing file, other team's item, bad variant)."""


class MediaPending(MediaProblem):
    """A variant that is not made yet, where the caller only reads (a GET): the page asks again
    with a POST, which makes it."""


class MediaSource(Protocol):
    """Turns a document's media reference into a concrete protocols.MediaPart."""

    def media_part(self, ref: Any, *, detail: str | None, send: str, variant: dict | None) -> MediaPart: ...


@dataclass(frozen=True)
class PartIssue:
    """A media part that could not be resolved; shown on that part, and it blocks sending."""

    message_index: int | None
    part_index: int | None
    where: str
    message: str
    pending: bool = False  # a variant not made yet (MediaPending): made by the next POST


@dataclass
class Built:
    prompt: Prompt
    values: dict[str, Any]
    issues: list[PartIssue] = field(default_factory=list)
    # (message_index, part_index) -> the MediaPart used there (for thumbnails and token details)
    media: dict[tuple[int | None, int], MediaPart] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.issues


def empty_document() -> dict:
    return {"system": "", "messages": [{"role": "user", "parts": [{"text": ""}]}], "variables": {}, "options": {}}


def normalize(doc: Any) -> dict:
    """A checked, canonical copy of doc (unknown keys refused, defaults filled). Raises DocumentError."""
    if not isinstance(doc, dict):
        raise DocumentError("A prompt document is a JSON object.")
    unknown = set(doc) - {"name", "system", "messages", "variables", "options"}
    if unknown:
        raise DocumentError(f"Unknown top-level key(s): {', '.join(sorted(unknown))}.")
    out: dict[str, Any] = {}
    if doc.get("name") is not None:
        out["name"] = _str(doc["name"], "name")
    out["system"] = _str(doc.get("system", ""), "system")
    messages = doc.get("messages", [])
    if not isinstance(messages, list):
        raise DocumentError("messages must be a list.")
    out["messages"] = [_message(m, i) for i, m in enumerate(messages)]
    variables = doc.get("variables", {})
    if not isinstance(variables, dict):
        raise DocumentError("variables must be an object of name: value.")
    out["variables"] = {}
    for name, value in variables.items():
        where = f"variables.{name}"
        if isinstance(value, dict):
            if set(value) != {"media"}:
                raise DocumentError(f"{where}: a media value is {{\"media\": ...}}.")
            out["variables"][name] = {"media": copy.deepcopy(value["media"])}
        elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
            out["variables"][name] = str(value)
        else:
            raise DocumentError(f"{where} must be text or {{\"media\": ...}}.")
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise DocumentError("options must be an object.")
    unknown = set(options) - set(OPTION_KEYS)
    if unknown:
        raise DocumentError(f"Unknown option(s): {', '.join(sorted(unknown))}.")
    out["options"] = {k: copy.deepcopy(v) for k, v in options.items() if v is not None and v != ""}
    return out


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise DocumentError(f"{where} must be text.")
    return value


def _message(m: Any, i: int) -> dict:
    where = f"messages[{i}]"
    if not isinstance(m, dict) or set(m) - {"role", "parts"}:
        raise DocumentError(f"{where} must be {{\"role\": ..., \"parts\": [...]}}.")
    role = m.get("role", "user")
    if role not in ROLES:
        raise DocumentError(f"{where}.role must be user or assistant, not {role!r}.")
    parts = m.get("parts", [])
    if not isinstance(parts, list):
        raise DocumentError(f"{where}.parts must be a list.")
    return {"role": role, "parts": [_part(p, f"{where}.parts[{j}]") for j, p in enumerate(parts)]}


def _part(p: Any, where: str) -> dict:
    if not isinstance(p, dict):
        raise DocumentError(f"{where} must be an object.")
    if "text" in p:
        if set(p) != {"text"}:
            raise DocumentError(f"{where}: a text part has only \"text\".")
        return {"text": _str(p["text"], where)}
    allowed = {"media", "media_variable", "kind", "detail", "send", "variant", "variant_for", "optional", "mime_type", "name"}
    unknown = set(p) - allowed
    if unknown:
        raise DocumentError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}.")
    if ("media" in p) == ("media_variable" in p):
        raise DocumentError(f"{where} needs \"text\", \"media\" or \"media_variable\".")
    out = {k: copy.deepcopy(v) for k, v in p.items() if v is not None}
    if "media_variable" in p and p.get("kind") not in KINDS:
        raise DocumentError(f"{where}: a media slot needs \"kind\" (one of {', '.join(KINDS)}).")
    if out.get("detail") not in (None, *DETAILS):
        raise DocumentError(f"{where}.detail must be one of {', '.join(DETAILS)}.")
    if out.get("send", "inline") not in ("inline", "url"):
        raise DocumentError(f"{where}.send must be inline or url.")
    if "variant" in out and not isinstance(out["variant"], dict):
        raise DocumentError(f"{where}.variant must be an object.")
    per_target = out.get("variant_for", {})
    if not isinstance(per_target, dict) or set(per_target) - set(TARGET_KEYS) or not all(isinstance(v, dict) for v in per_target.values()):
        raise DocumentError(f"{where}.variant_for maps a target ({', '.join(TARGET_KEYS)}) to a variant object.")
    if not per_target:
        out.pop("variant_for", None)
    if not isinstance(out.get("optional", False), bool):
        raise DocumentError(f"{where}.optional must be true or false.")
    if out.get("optional") is False:
        out.pop("optional")
    return out


def for_target(doc: dict, key: str) -> dict:
    """The normalized document as target ``key`` gets it: each part's "variant_for"[key], if any,
    replaces its "variant"; other targets' entries are dropped. The document itself is unchanged."""
    if not any("variant_for" in p for m in doc["messages"] for p in m["parts"]):
        return doc
    out = dict(doc, messages=[])
    for m in doc["messages"]:
        parts = []
        for p in m["parts"]:
            if "variant_for" in p:
                p = dict(p)
                chosen = p.pop("variant_for").get(key)
                if chosen is not None:
                    p["variant"] = chosen
                    p.pop("send", None)  # a variant is sent inline
            parts.append(p)
        out["messages"].append(dict(m, parts=parts))
    return out


def _optional_variables(doc: dict) -> set[str]:
    """Media variables whose every slot is marked "optional" (a value filling both an optional and
    a required slot stays required)."""
    slots: dict[str, bool] = {}
    for m in doc["messages"]:
        for p in m["parts"]:
            if "media_variable" in p:
                name = p["media_variable"]
                slots[name] = slots.get(name, True) and bool(p.get("optional"))
    return {name for name, optional in slots.items() if optional}


def media_refs(doc: dict) -> list[Any]:
    """Every media reference in a normalized document, parts and variables, in order."""
    refs = [p["media"] for m in doc["messages"] for p in m["parts"] if "media" in p]
    refs += [v["media"] for v in doc["variables"].values() if isinstance(v, dict)]
    return refs


def rewrite_media_refs(doc: dict, rewrite) -> dict:
    """Replace, in place, every media reference of a normalized document (parts and variables) by
    ``rewrite(ref, send)`` (``send``: the part's "inline"/"url" choice; "inline" for a variable).
    What an export, an import and a fork do to a document's media. Returns ``doc``."""
    for message in doc["messages"]:
        for part in message["parts"]:
            if "media" in part:
                part["media"] = rewrite(part["media"], part.get("send", "inline"))
    for value in doc["variables"].values():
        if isinstance(value, dict):
            value["media"] = rewrite(value["media"], "inline")
    return doc


def build_prompt(doc: dict, source: MediaSource, values: dict[str, Any] | None = None) -> Built:
    """Turn a normalized document (plus value overrides) into a protocols.Prompt and its values.

    A media reference that cannot be resolved becomes a PartIssue on that part, never an exception;
    an unfilled placeholder slot stands in its place (so part numbers stay the document's) and
    keeps the prompt unsendable.
    """
    issues: list[PartIssue] = []
    media: dict[tuple[int | None, int], MediaPart] = {}
    messages = []
    for mi, m in enumerate(doc["messages"]):
        parts = []
        for pi, p in enumerate(m["parts"]):
            where = f"message {mi + 1}, part {pi + 1}"
            if "text" in p:
                parts.append(TextPart(p["text"]))
            elif "media_variable" in p:
                parts.append(MediaPart(kind=p["kind"], variable=p["media_variable"], detail=p.get("detail"),
                                       optional=bool(p.get("optional"))))
            else:
                try:
                    part = source.media_part(p["media"], detail=p.get("detail"), send=p.get("send", "inline"),
                                             variant=p.get("variant"))
                except MediaProblem as exc:
                    issues.append(PartIssue(mi, pi, where, str(exc), pending=isinstance(exc, MediaPending)))
                    kind = p.get("kind") if p.get("kind") in KINDS else "image"
                    parts.append(MediaPart(kind=kind, variable=f"{UNRESOLVED}-{mi}-{pi}"))
                    continue
                if p.get("optional"):
                    part = dataclasses.replace(part, optional=True)
                media[(mi, pi)] = part
                parts.append(part)
        messages.append(Message(m["role"], tuple(parts)))

    merged = dict(doc["variables"])
    merged.update(values or {})
    resolved_values: dict[str, Any] = {}
    optional_vars = _optional_variables(doc)
    for name, value in merged.items():
        if isinstance(value, dict) and "media" in value:
            try:
                part = source.media_part(value["media"], detail=None, send="inline", variant=None)
            except MediaProblem as exc:
                issues.append(PartIssue(None, None, f"variable {{{{{name}}}}}", str(exc)))
                continue
            # The renderer puts the value in the slot's place: it carries the slot's "optional".
            resolved_values[name] = dataclasses.replace(part, optional=True) if name in optional_vars else part
        elif isinstance(value, MediaPart) and name in optional_vars:
            resolved_values[name] = dataclasses.replace(value, optional=True)
        else:
            resolved_values[name] = value

    opts = doc["options"]
    options = Options(
        max_tokens=opts.get("max_tokens"),
        temperature=opts.get("temperature"),
        json_schema=opts.get("json_schema"),
        schema_name=opts.get("schema_name"),
        strict=opts.get("strict", True),
    )
    prompt = Prompt(system=doc["system"], messages=tuple(messages), options=options)
    return Built(prompt=prompt, values=resolved_values, issues=issues, media=media)
