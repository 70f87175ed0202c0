"""The editor form and the prompt document, both ways, plus the editor's structural actions.

The editor page is one HTML form. Its fields are named after where they sit in the document:

    name, system, max_tokens, temperature, json_schema, schema_name, strict     (PromptForm)
    m-0-role                                                                     (MessageForm)
    m-0-p-1-type  text|media|slot, m-0-p-1-text, m-0-p-1-ref (JSON media reference),
    m-0-p-1-detail, -send, -max_edge, -image_format, -audio_format, -video_mode, -frames,
    m-0-p-1-variable, -kind (slots), m-0-p-1-optional (checkbox: "leave out for models that
    cannot take it"), m-0-p-1-extra (JSON: document keys the form does not show, among them
    "variant_for", the fallbacks chosen for one target, set and undone by editor actions)
    varlist (the variables listed), var-<name> (text value), varref-<name> (media value, JSON)
    pv-... (preview settings, see forms.PreviewSettingsForm)

parse_editor() turns a POST into a normalized document (document.normalize) and the errors to
show; editor_context() turns a document into the forms the template renders. The two are
inverse on canonical documents (tested), so a page that is only looked at never looks changed.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from playground.lib import jsonlimits
from playground.lib.ids import parse_id
from playground.prompts.document import KINDS, TARGET_KEYS, DocumentError, empty_document, normalize
from playground.prompts.forms import MessageForm, PartForm, PreviewSettingsForm, PromptForm
from playground.prompts.library_source import item_id_of
from playground.prompts.previews import SHORT_LABELS
from playground.prompts.sources import variant_options
from playground.protocols.render import placeholders

_MESSAGE_FIELD = re.compile(r"^m-(\d+)-role$")
_PART_FIELD = re.compile(r"^m-(\d+)-p-(\d+)-type$")

# The variant keys each kind's fields show; any other variant key rides along in "extra".
_SHOWN_VARIANT = {"image": {"max_edge", "format"}, "audio": {"format"}, "video": {"frames"}, "pdf": set()}


@dataclass
class Parsed:
    doc: dict
    prompt_form: PromptForm
    settings: dict
    errors: dict[tuple, list[str]] = field(default_factory=dict)  # place (see previews.Place) -> messages

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, place: tuple, message: str) -> None:
        self.errors.setdefault(place, []).append(message)


# --- POST -> document ------------------------------------------------------------------------------


def parse_editor(data) -> Parsed:
    """The document the editor form describes. Never raises: a bad field is an error on its place
    and is left out of the document (the preview shows the rest)."""
    data = _without_nul(data)
    prompt_form = PromptForm(data)
    prompt_form.is_valid()
    # A post without the preview settings (not from the editor page) keeps the defaults.
    posted_settings = any(key.startswith("pv-") for key in data)
    settings = PreviewSettingsForm(data, prefix="pv").settings() if posted_settings else PreviewSettingsForm.defaults()
    parsed = Parsed(doc={}, prompt_form=prompt_form, settings=settings)
    for name, errors in prompt_form.errors.items():
        label = prompt_form.fields[name].label or name.replace("_", " ").capitalize() if name in prompt_form.fields else ""
        place = ("prompt",) if name == "name" else ("options",)
        for error in errors:
            parsed.add(place, f"{label}: {error}" if label else error)
    clean = prompt_form.cleaned_data
    options: dict[str, Any] = {}
    for key in ("max_tokens", "temperature", "json_schema", "schema_name"):
        if clean.get(key) not in (None, ""):
            options[key] = clean[key]
    if "json_schema" in options and not clean.get("strict", True):
        options["strict"] = False

    message_indexes = sorted({int(m.group(1)) for k in data if (m := _MESSAGE_FIELD.match(k))})
    messages = []
    for new_mi, mi in enumerate(message_indexes):
        mform = MessageForm(data, prefix=f"m-{mi}")
        role = mform.cleaned_data["role"] if mform.is_valid() else "user"
        part_indexes = sorted({int(m.group(2)) for k in data if (m := _PART_FIELD.match(k)) and int(m.group(1)) == mi})
        parts = []
        for pi in part_indexes:
            part = _parse_part(data, f"m-{mi}-p-{pi}", parsed, ("part", new_mi, len(parts)))
            if part is not None:
                parts.append(part)
        messages.append({"role": role, "parts": parts})

    variables: dict[str, Any] = {}
    for name in [n for n in data.get("varlist", "").split(",") if n]:
        if f"varref-{name}" in data:
            raw = data.get(f"varref-{name}") or ""
            try:
                ref = jsonlimits.loads(raw) if raw else None
            except ValueError:
                parsed.add(("variable", name), "This media value is not valid JSON; pick the media again.")
                continue
            if ref is not None:
                variables[name] = {"media": ref}
        elif f"var-{name}" in data:  # a field left blank is the empty text, said so in every column
            variables[name] = data[f"var-{name}"]

    # A variable just typed into a text has no field on the page yet: it gets one, blank, with the
    # response, and a blank field is the empty text, so it is the empty text now already (said so).
    system_text = clean.get("system") or ""
    slots = {p.get("media_variable") for m in messages for p in m["parts"]}
    texts = [system_text] + [p["text"] for m in messages for p in m["parts"] if "text" in p]
    for name in placeholders("\n".join(texts)):
        if name not in variables and name not in slots:
            variables[name] = ""

    doc = {
        "name": clean.get("name") or (data.get("name") or "").strip()[:200] or "Untitled prompt",
        "system": system_text,
        "messages": messages,
        "variables": variables,
        "options": options,
    }
    try:
        parsed.doc = normalize(doc)
    except DocumentError as exc:  # only reachable with tampered hidden fields
        parsed.add(("prompt",), str(exc))
        doc["variables"] = {}
        try:
            parsed.doc = normalize(doc)
        except DocumentError:
            parsed.doc = normalize({**empty_document(), "name": doc["name"]})
    return parsed


def _without_nul(data):
    """The form data with NUL characters dropped: browsers do not send them, and raw values (an
    invalid field is kept as typed) would reach the draft, which PostgreSQL refuses to store."""
    if not any("\x00" in key or any("\x00" in v for v in data.getlist(key) if isinstance(v, str)) for key in data):
        return data
    clean = QueryDict(mutable=True)
    for key in data:
        clean.setlist(key.replace("\x00", ""), [v.replace("\x00", "") if isinstance(v, str) else v for v in data.getlist(key)])
    return clean


def _parse_part(data, prefix: str, parsed: Parsed, place: tuple) -> dict | None:
    form = PartForm(data, prefix=prefix)
    form.is_valid()
    for name, errors in form.errors.items():
        label = (form.fields[name].label or name.replace("_", " ").capitalize()) if name in form.fields else ""
        for error in errors:
            parsed.add(place, f"{label}: {error}" if label else error)
    c = form.cleaned_data
    kind = c.get("kind") or ""
    extra = c.get("extra") if isinstance(c.get("extra"), dict) else {}
    ptype = c.get("type") or data.get(f"{prefix}-type")
    if ptype == "text":
        return {"text": c.get("text") if c.get("text") is not None else data.get(f"{prefix}-text", "")}
    # "extra" holds exactly the keys this part's fields do not show; the fields add the rest.
    part: dict[str, Any] = {k: copy.deepcopy(v) for k, v in extra.items() if k not in ("variant", "optional")}
    if data.get(f"{prefix}-optional"):
        part["optional"] = True
    extra_variant = extra.get("variant") if isinstance(extra.get("variant"), dict) else {}
    if ptype == "slot":
        variable = c.get("variable") or ""
        if not variable:
            parsed.add(place, "Name the variable that fills this media slot.")
            variable = data.get(f"{prefix}-variable", "") or "media"
        part.update({"media_variable": variable, "kind": kind or "image"})
        if kind in ("", "image") and c.get("detail"):
            part["detail"] = c["detail"]
        if extra_variant:
            part["variant"] = extra_variant
        return part
    ref = c.get("ref")
    if ref is None:
        parsed.add(place, "This media part has no media; pick one from the library.")
        return None
    part["media"] = ref
    if kind == "image" and c.get("detail"):
        part["detail"] = c["detail"]
    if c.get("send") == "url":
        part["send"] = "url"
    variant: dict[str, Any] = {}
    if kind == "image":
        if c.get("max_edge") or c.get("image_format"):
            variant = {**extra_variant}
            if c.get("max_edge"):
                variant["max_edge"] = c["max_edge"]
            if c.get("image_format"):
                variant["format"] = c["image_format"]
    elif kind == "audio":
        if c.get("audio_format"):
            variant = {**extra_variant, "format": c["audio_format"]}
    elif kind == "video":
        if c.get("video_mode") == "frames":
            variant = {**extra_variant, "frames": c.get("frames") or 8}
    else:  # a PDF, or media whose kind is unknown (a deleted item): its variant is kept as it was
        variant = extra_variant
    if variant:
        part["variant"] = variant
    return part


# --- document -> forms -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetVariant:
    """A fallback chosen for one target only (the part's "variant_for"), as the part shows it:
    "Chat: 8 key frames", with the action that undoes it."""

    key: str
    label: str
    description: str
    undo: str


# uploads.variants.VariantSpec's defaults (image/keyframe quality, audio bitrate): not worth a word.
_DEFAULT_VARIANT_PARAMS = {("quality", 85), ("bitrate", 128000)}


def describe_variant(kind: str, variant: dict) -> str:
    """A document variant in words: "8 key frames", "JPEG copy, max edge 2000 px", "the file inline"."""
    if not variant:
        return "the file itself, inline"
    if kind == "video" or "frames" in variant:
        n = variant.get("frames", 8)
        words = [f"{n} key frame{'s' if n != 1 else ''}"]
        if variant.get("max_edge"):
            words.append(f"max edge {variant['max_edge']} px")
        return ", ".join(words)
    words = []
    if variant.get("format"):
        words.append(f"{str(variant['format']).upper()} copy")
    if variant.get("max_edge"):
        words.append(f"max edge {variant['max_edge']} px")
    for key, value in sorted(variant.items()):
        if key not in ("format", "max_edge") and (key, value) not in _DEFAULT_VARIANT_PARAMS:
            words.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(words) or "a copy"


def target_variants(part: dict, kind: str, mi: int, pi: int) -> list[TargetVariant]:
    return [TargetVariant(key, SHORT_LABELS.get(key, key), describe_variant(kind, variant), f"unfallback:{mi}:{pi}:{key}")
            for key, variant in (part.get("variant_for") or {}).items()]


@dataclass
class PartView:
    mi: int
    pi: int
    type: str  # text | media | slot
    kind: str
    form: PartForm
    item: Any = None  # the MediaItem, when the reference is a library item of this team
    ref: Any = None
    first: bool = False
    last: bool = False
    optional: bool = False  # "leave out for models that cannot take it"
    per_target: list[TargetVariant] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return f"m-{self.mi}-p-{self.pi}"

    @property
    def dom_id(self) -> str:
        return f"part-{self.mi}-{self.pi}"

    @property
    def ref_label(self) -> str:
        if self.item is not None:
            return self.item.name
        if isinstance(self.ref, dict) and "url" in self.ref:
            return self.ref["url"]
        item_id = item_id_of(self.ref)
        return f"library item {item_id} (not found)" if item_id is not None else str(self.ref)


@dataclass
class MessageView:
    mi: int
    form: MessageForm
    parts: list[PartView]
    first: bool = False
    last: bool = False
    role: str = "user"


@dataclass
class VariableView:
    name: str
    use: str  # "text", a media kind, or "unused"
    value: Any
    item: Any = None

    @property
    def is_media(self) -> bool:
        return self.use in KINDS or isinstance(self.value, dict)

    @property
    def media_kind(self) -> str:
        return self.use if self.use in KINDS else (self.item.kind if self.item is not None else "")

    @property
    def ref_json(self) -> str:
        if isinstance(self.value, dict) and "media" in self.value:
            return json.dumps(self.value["media"], separators=(",", ":"), sort_keys=True)
        return ""

    @property
    def text(self) -> str:
        return self.value if isinstance(self.value, str) else ""


def part_kind(part: dict, items: dict) -> str:
    """The media kind of a part: a slot's, the library item's, a URL reference's; "" if unknown."""
    if "media_variable" in part:
        return part.get("kind") or "image"
    item = items.get(item_id_of(part.get("media")))
    if item is not None:
        return item.kind
    ref = part.get("media")
    if isinstance(ref, dict) and ref.get("kind") in KINDS:
        return ref["kind"]
    return part.get("kind") if part.get("kind") in KINDS else ""


def part_initial(part: dict, kind: str) -> dict:
    """The PartForm initial data for a document part; keys the form does not show go to "extra"."""
    if "text" in part:
        return {"type": "text", "text": part["text"]}
    variant = dict(part.get("variant") or {})
    if "media_variable" in part:
        extra = {k: v for k, v in part.items() if k not in ("media_variable", "kind", "detail", "variant", "optional")}
        if part.get("detail") and kind != "image":
            extra["detail"] = part["detail"]
        if variant:
            extra["variant"] = variant
        return {"type": "slot", "variable": part["media_variable"], "kind": kind,
                "detail": part.get("detail", "") if kind == "image" else "", "extra": extra or None}
    extra = {k: v for k, v in part.items() if k not in ("media", "detail", "send", "variant", "optional")}
    initial = {"type": "media", "ref": part["media"], "kind": kind, "send": part.get("send", "inline")}
    if part.get("send") not in (None, "inline", "url"):
        extra["send"] = part["send"]
    if kind == "image":
        initial["detail"] = part.get("detail", "")
    elif part.get("detail"):
        extra["detail"] = part["detail"]
    shown = _SHOWN_VARIANT.get(kind, set())
    if kind == "image":
        initial["max_edge"] = variant.get("max_edge")
        initial["image_format"] = variant.get("format", "")
    elif kind == "audio":
        initial["audio_format"] = variant.get("format", "mp3") if variant else ""
    elif kind == "video":
        initial["video_mode"] = "frames" if variant else "file"
        initial["frames"] = variant.get("frames", 8) if variant else 8
    hidden_variant = {k: v for k, v in variant.items() if k not in shown}
    if hidden_variant:
        extra["variant"] = hidden_variant
    initial["extra"] = extra or None
    return initial


def variable_uses(doc: dict) -> dict[str, str]:
    """Variable name -> "text" or the slot's media kind, in order of first use."""
    uses: dict[str, str] = {}
    for name in placeholders(doc.get("system", "")):
        uses.setdefault(name, "text")
    for m in doc["messages"]:
        for p in m["parts"]:
            if "text" in p:
                for name in placeholders(p["text"]):
                    uses.setdefault(name, "text")
            elif "media_variable" in p:
                uses.setdefault(p["media_variable"], p.get("kind") or "image")
    return uses


def editor_context(doc: dict, items: dict, prompt_form: PromptForm | None = None) -> dict:
    """What templates/prompts/_editor.html renders for a document. ``items``: the team's
    MediaItems the document names, by id."""
    if prompt_form is None:
        options = doc.get("options", {})
        prompt_form = PromptForm(initial={
            "name": doc.get("name", ""),
            "system": doc.get("system", ""),
            "max_tokens": options.get("max_tokens"),
            "temperature": options.get("temperature"),
            "json_schema": json.dumps(options["json_schema"], indent=2) if options.get("json_schema") is not None else "",
            "schema_name": options.get("schema_name", ""),
            "strict": options.get("strict", True),
        })
    messages = []
    count = len(doc["messages"])
    for mi, m in enumerate(doc["messages"]):
        parts = []
        for pi, p in enumerate(m["parts"]):
            kind = part_kind(p, items)
            ptype = "text" if "text" in p else "slot" if "media_variable" in p else "media"
            form = PartForm(prefix=f"m-{mi}-p-{pi}", initial=part_initial(p, kind))
            item = items.get(item_id_of(p.get("media"))) if ptype == "media" else None
            parts.append(PartView(mi, pi, ptype, kind, form, item, p.get("media"), pi == 0, pi == len(m["parts"]) - 1,
                                  bool(p.get("optional")), target_variants(p, kind, mi, pi)))
        messages.append(MessageView(mi, MessageForm(prefix=f"m-{mi}", initial={"role": m["role"]}), parts,
                                    mi == 0, mi == count - 1, m["role"]))
    return {"prompt_form": prompt_form, "message_views": messages, "variables": variable_views(doc, items)}


def variable_views(doc: dict, items: dict) -> list[VariableView]:
    uses = variable_uses(doc)
    values = doc.get("variables", {})
    out = []
    for name, use in uses.items():
        value = values.get(name)
        item = items.get(item_id_of(value["media"])) if isinstance(value, dict) else None
        out.append(VariableView(name, use, value, item))
    for name, value in values.items():
        if name not in uses:
            item = items.get(item_id_of(value["media"])) if isinstance(value, dict) else None
            out.append(VariableView(name, "unused", value, item))
    return out


def variable_signature(doc: dict) -> str:
    """The variables the panel lists and how (it is re-drawn only when this changes)."""
    return ",".join(f"{v.name}:{v.use}:{'m' if v.is_media else 't'}" for v in variable_views(doc, {}))


def item_ids(doc: dict) -> set[int]:
    refs = [p["media"] for m in doc["messages"] for p in m["parts"] if "media" in p]
    refs += [v["media"] for v in doc.get("variables", {}).values() if isinstance(v, dict)]
    return {i for i in (item_id_of(r) for r in refs) if i is not None}


def form_data(doc: dict, items: dict, settings: dict | None = None) -> dict[str, Any]:
    """The POST the editor page would send for ``doc`` (tests, and canonical())."""
    ctx = editor_context(doc, items)
    data: dict[str, Any] = {}

    def put(form):
        for bf in form:
            value = bf.value()
            if value is None or value is False:
                continue
            if value is True:
                value = "on"
            data[bf.html_name] = bf.field.prepare_value(value) if not isinstance(value, str) else value

    put(ctx["prompt_form"])
    for m in ctx["message_views"]:
        put(m.form)
        for p in m.parts:
            put(p.form)
            if p.optional:
                data[f"{p.prefix}-optional"] = "on"
    names = []
    for v in ctx["variables"]:
        names.append(v.name)
        if v.is_media:
            data[f"varref-{v.name}"] = v.ref_json
        else:
            data[f"var-{v.name}"] = v.text
    data["varlist"] = ",".join(names)
    settings = settings or PreviewSettingsForm.defaults()
    for key, value in settings.items():
        if key == "columns":
            data["pv-columns"] = list(value)
        elif value is True:
            data[f"pv-{key}"] = "on"
        elif value not in (None, False, ""):
            data[f"pv-{key}"] = str(value)
    return data


class _MultiDict(dict):
    """Enough of a QueryDict for the forms: getlist() for the checkboxes."""

    def getlist(self, key, default=None):
        value = self.get(key, default if default is not None else [])
        return value if isinstance(value, list) else [value]


def canonical(doc: dict, items: dict) -> dict:
    """``doc`` as the editor would save it (defaults spelled as the editor spells them)."""
    return parse_editor(_MultiDict(form_data(doc, items))).doc


# --- structural actions -----------------------------------------------------------------------------


class ActionError(ValueError):
    pass


def apply_action(doc: dict, action: str, *, items: dict | None = None, pick: str | None = None) -> tuple[dict, str]:
    """A changed copy of ``doc`` and the DOM id to focus afterwards.

    Actions: add_message, remove_message:i, up_message:i, down_message:i, add_text:i,
    add_slot:i, remove_part:i:j, up_part:i:j, down_part:i:j, remove_var:name,
    fallback:i:j:columns:kind[:spec] (columns: target keys joined by ","; the fallback goes into
    the part's "variant_for" for those targets only; empty: into its "variant", for every target),
    unfallback:i:j:column (undo one target's fallback), pick (with ``pick`` = "<target>|<item id>",
    target m-i-p-j, m-i-new or var-name).
    """
    doc = copy.deepcopy(doc)
    items = items or {}
    messages = doc["messages"]
    name, _, arg = action.partition(":")
    args = arg.split(":") if arg else []

    def number(text: str | None) -> int:
        if text is None or not text.isdigit() or len(text) > 6:
            raise ActionError("That editor action is not understood; reload the page and try again.")
        return int(text)

    def msg(i: str | None = None) -> int:
        index = number(i)
        if not 0 <= index < len(messages):
            raise ActionError("That message is no longer there; the editor was out of date.")
        return index

    def part(i: str | None = None, j: str | None = None) -> tuple[int, int]:
        mi = msg(i)
        pj = number(j)
        if not 0 <= pj < len(messages[mi]["parts"]):
            raise ActionError("That part is no longer there; the editor was out of date.")
        return mi, pj

    try:
        if name == "add_message":
            role = "assistant" if messages and messages[-1]["role"] == "user" else "user"
            messages.append({"role": role, "parts": [{"text": ""}]})
            return doc, f"id_m-{len(messages) - 1}-p-0-text"
        if name == "remove_message":
            mi = msg(args[0])
            del messages[mi]
            return doc, "add-message" if not messages else f"message-{max(0, mi - 1)}"
        if name in ("up_message", "down_message"):
            mi = msg(args[0])
            to = mi - 1 if name == "up_message" else mi + 1
            if 0 <= to < len(messages):
                messages[mi], messages[to] = messages[to], messages[mi]
                mi = to
            return doc, _move_focus("message", name[:-8], mi, len(messages))
        if name == "add_text":
            mi = msg(args[0])
            messages[mi]["parts"].append({"text": ""})
            return doc, f"id_m-{mi}-p-{len(messages[mi]['parts']) - 1}-text"
        if name == "add_slot":
            mi = msg(args[0])
            taken = set(variable_uses(doc)) | set(doc["variables"])
            n = 1
            while f"image{n}" in taken:
                n += 1
            messages[mi]["parts"].append({"media_variable": f"image{n}", "kind": "image"})
            return doc, f"id_m-{mi}-p-{len(messages[mi]['parts']) - 1}-variable"
        if name == "remove_part":
            mi, pj = part(*args[:2])
            del messages[mi]["parts"][pj]
            return doc, f"add-text-{mi}"
        if name in ("up_part", "down_part"):
            mi, pj = part(*args[:2])
            parts = messages[mi]["parts"]
            to = pj - 1 if name == "up_part" else pj + 1
            if 0 <= to < len(parts):
                parts[pj], parts[to] = parts[to], parts[pj]
                pj = to
            return doc, _move_focus(f"part-{mi}", name[:-5], pj, len(parts))
        if name == "remove_var":
            doc["variables"].pop(arg, None)
            return doc, "variables"
        if name == "fallback":
            mi, pj = part(*args[:2])
            rest = args[2:]
            if rest and rest[0] in _FALLBACK_KINDS:  # a page from before per-target fallbacks
                rest = ["", *rest]
            columns = [c for c in (rest[0] if rest else "").split(",") if c]
            kind = rest[1] if len(rest) > 1 else ""
            spec = ":".join(rest[2:])
            _apply_fallback(messages[mi]["parts"][pj], kind, spec, columns)
            return doc, f"part-{mi}-{pj}"
        if name == "unfallback":
            mi, pj = part(*args[:2])
            p = messages[mi]["parts"][pj]
            per_target = p.get("variant_for") or {}
            per_target.pop(args[2] if len(args) > 2 else "", None)
            if not per_target:
                p.pop("variant_for", None)
            return doc, f"part-{mi}-{pj}"
        if name == "pick":
            return _apply_pick(doc, pick or "", items)
    except (ValueError, IndexError) as exc:
        raise ActionError(str(exc) or "That action is not understood.") from None
    raise ActionError(f"Unknown editor action {action!r}.")


def _move_focus(scope: str, direction: str, index: int, count: int) -> str:
    # Keep focus on the button that was pressed, unless the item reached the edge, where that
    # button is disabled: then on the other one.
    if direction == "up" and index == 0 and count > 1:
        direction = "down"
    elif direction == "down" and index == count - 1 and count > 1:
        direction = "up"
    return f"{direction}-{scope}-{index}"


_FALLBACK_KINDS = ("variant", "keyframes", "inline")


def _apply_fallback(part: dict, kind: str, spec: str, columns: list[str]) -> None:
    """The fallback for ``columns`` only (the part's "variant_for"), or, with no columns, for every
    target (its "variant" / "send")."""
    if "media" not in part:
        raise ActionError("Only a library media part can be sent another way; pick another file for this slot.")
    if kind not in _FALLBACK_KINDS:
        raise ActionError(f"Unknown fallback {kind!r}.")
    unknown = [c for c in columns if c not in TARGET_KEYS]
    if unknown:
        raise ActionError(f"Unknown preview column {unknown[0]!r}; the editor was out of date.")
    if kind == "inline":
        variant = None  # the file itself, inline
    elif spec:
        variant = variant_options(spec)
    elif kind == "keyframes":
        variant = {"frames": 8}
    else:
        raise ActionError("This fallback names no variant to make; reload the page and try again.")
    if not columns:
        if variant is None:
            part["send"] = "inline"
        else:
            part["variant"] = variant
            part.pop("send", None)  # a variant is sent inline
        return
    # For one target: on top of the part's own variant (a resize keeps the format chosen for all),
    # and always inline (document.for_target drops "send" for a target with its own variant).
    shared = {} if part.get("send") == "url" else dict(part.get("variant") or {})
    per_target = part.setdefault("variant_for", {})
    for column in columns:
        per_target[column] = {**shared, **(variant or {})}


def _apply_pick(doc: dict, pick: str, items: dict) -> tuple[dict, str]:
    target, _, item_id = pick.partition("|")
    item = items.get(parse_id(item_id))
    if item is None:
        raise ActionError("That media item is not in this team's library.")
    ref = {"item": item.pk}
    if target.startswith("var-"):
        name = target[4:]
        doc["variables"][name] = {"media": ref}
        return doc, f"var-pick-{name}"
    m = re.fullmatch(r"m-(\d+)-(?:p-(\d+)|new)", target)
    if not m or not 0 <= int(m.group(1)) < len(doc["messages"]):
        raise ActionError("Where to put the media is not understood; the editor was out of date.")
    mi = int(m.group(1))
    parts = doc["messages"][mi]["parts"]
    if m.group(2) is None:
        parts.append({"media": ref})
        return doc, f"pick-m-{mi}-p-{len(parts) - 1}"
    pj = int(m.group(2))
    if not 0 <= pj < len(parts):
        raise ActionError("That part is no longer there; the editor was out of date.")
    old = parts[pj]
    same_kind = "media" in old and part_kind(old, items) == item.kind
    new = {"media": ref}
    if same_kind:  # keep the options chosen for this kind
        new.update({k: v for k, v in old.items() if k != "media"})
    parts[pj] = new
    return doc, f"pick-m-{mi}-p-{pj}"


# --- a readable rendering, for history and diffs --------------------------------------------------------


def readable_lines(doc: dict, names: dict[int, str] | None = None) -> list[str]:
    """The prompt as plain lines a person can diff: one line per setting, texts indented."""
    names = names or {}

    def ref_text(ref) -> str:
        item_id = item_id_of(ref)
        if item_id is not None:
            return f"“{names[item_id]}” (library item {item_id})" if item_id in names else f"library item {item_id} (deleted)"
        if isinstance(ref, dict) and "url" in ref:
            return f"URL {ref['url']}"
        return json.dumps(ref, ensure_ascii=False)

    def text_block(text: str, indent: str) -> list[str]:
        return [indent + line for line in (text.splitlines() or [""])]

    lines = [f"Name: {doc.get('name', '')}"]
    if doc.get("system"):
        lines.append("System:")
        lines += text_block(doc["system"], "    ")
    for mi, m in enumerate(doc.get("messages", [])):
        lines.append(f"Message {mi + 1} · {m['role']}")
        for pi, p in enumerate(m["parts"]):
            head = f"  Part {pi + 1}"
            if "text" in p:
                lines.append(f"{head} · text")
                lines += text_block(p["text"], "      ")
                continue
            if "media_variable" in p:
                desc = f"{head} · {p.get('kind', 'media')} from {{{{{p['media_variable']}}}}}"
            else:
                desc = f"{head} · {ref_text(p['media'])}"
            extras = []
            if p.get("detail"):
                extras.append(f"detail {p['detail']}")
            if p.get("send") == "url":
                extras.append("sent by URL")
            if p.get("variant"):
                extras.append("variant " + ", ".join(f"{k}={v}" for k, v in sorted(p["variant"].items())))
            for key, variant in sorted((p.get("variant_for") or {}).items()):
                extras.append(f"for {SHORT_LABELS.get(key, key)}: " +
                              (", ".join(f"{k}={v}" for k, v in sorted(variant.items())) or "the file inline"))
            if p.get("optional"):
                extras.append("left out where a model cannot take it")
            lines.append(desc + "".join(f" · {e}" for e in extras))
    if doc.get("variables"):
        lines.append("Test values:")
        for name, value in doc["variables"].items():
            if isinstance(value, dict):
                lines.append(f"  {{{{{name}}}}} = {ref_text(value['media'])}")
            else:
                first, *rest = value.splitlines() or [""]
                lines.append(f"  {{{{{name}}}}} = {first}")
                lines += ["      " + line for line in rest]
    options = doc.get("options", {})
    if options:
        lines.append("Options:")
        for key in ("max_tokens", "temperature", "schema_name", "strict"):
            if key in options:
                lines.append(f"  {key}: {options[key]}")
        if "json_schema" in options:
            lines.append("  json_schema:")
            lines += ["    " + line for line in json.dumps(options["json_schema"], indent=2, ensure_ascii=False).splitlines()]
    return lines


def json_lines(doc: dict) -> list[str]:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False).splitlines()


@dataclass
class DiffLine:
    kind: str  # "hunk" | "add" | "del" | "same"
    text: str
    old_no: int | None = None
    new_no: int | None = None


def diff(a: list[str], b: list[str], context: int = 3) -> list[DiffLine]:
    """A unified diff of two line lists, as rows for a coloured table (empty when equal)."""
    out: list[DiffLine] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        out.append(DiffLine("hunk", f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                out += [DiffLine("same", a[i], i + 1, j1 + (i - i1) + 1) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                out += [DiffLine("del", a[i], i + 1, None) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                out += [DiffLine("add", b[j], None, j + 1) for j in range(j1, j2)]
    return out
