"""What the editor page draws for a document: the editor forms, the preview columns, the remarks on
each part (with the slot each is swapped into), and the head with the draft bar. Reads only."""

from __future__ import annotations

from playground.prompts import editor
from playground.prompts.columns import choices_for, pick
from playground.prompts.forms import PreviewSettingsForm
from playground.prompts.library_source import LibrarySource
from playground.prompts.previews import COLUMN_KEYS, SHORT_LABELS, PlaceRemark, render_previews
from playground.prompts.services import EditorState


def head_context(state: EditorState, doc: dict, *, can_edit: bool) -> dict:
    """The page head and the draft bar: the newest version, and whether ``doc`` is unsaved (and
    started from an older version than the newest)."""
    dirty = state.unsaved(doc)
    return {
        "prompt": state.prompt,
        "latest": state.latest,
        "draft": state.draft,
        "dirty": dirty,
        "stale": dirty and state.started_before_newest,
        "can_edit": can_edit,
    }


def workspace_context(state: EditorState, *, doc: dict, settings: dict, can_edit: bool, prompt_form=None,
                      errors=None, make_variants: bool = True) -> dict:
    """Everything templates/prompts/edit.html and its fragments render for ``doc`` with ``settings``;
    ``errors``: the form's messages by place, shown first among that place's remarks.
    ``make_variants=False`` for a GET: a copy a fitted column needs is not made (the page asks by POST)."""
    prompt = state.prompt
    source = LibrarySource(prompt.team, make_variants=make_variants)
    items = source.items(editor.item_ids(doc))
    choices = choices_for(prompt.team)
    previews = render_previews(doc=doc, values=None, source=source, targets=pick(settings, choices))
    ctx = editor.editor_context(doc, items, prompt_form)
    by_place: dict[tuple, list[PlaceRemark]] = {k: list(v) for k, v in previews.by_place.items()}
    for place, msgs in (errors or {}).items():
        by_place.setdefault(place, [])[:0] = [PlaceRemark("form", "error", m, None, []) for m in msgs]

    media_parts = set()
    slots = []
    for m in ctx["message_views"]:
        m.remarks = by_place.pop(("message", m.mi), [])
        slots.append((f"remarks-message-{m.mi}", m.remarks, "message"))
        for p in m.parts:
            p.remarks = by_place.pop(("part", p.mi, p.pi), [])
            if p.type == "media":
                media_parts.add((p.mi, p.pi))
            slots.append((f"remarks-part-{p.mi}-{p.pi}", p.remarks, "part"))
    for v in ctx["variables"]:
        v.remarks = by_place.pop(("variable", v.name), [])
        slots.append((f"remarks-var-{v.name}", v.remarks, "var"))
    system = [r for k in list(by_place) if k[0] == "system" for r in by_place.pop(k)]
    options = by_place.pop(("options",), [])
    rest = [r for bucket in by_place.values() for r in bucket]  # the prompt as a whole, or unplaced
    slots += [("remarks-system", system, "system"), ("remarks-options", options, "options"), ("remarks-prompt", rest, "prompt")]

    name = doc.get("name") or prompt.name
    for col in previews.columns:
        col.file_name = col.filename(name)
        col.snippet_list = col.snippets(name)  # curl, httpx, the protocol's SDK, fetch (prompts/snippets.py)
    settings_form = PreviewSettingsForm(prefix="pv", initial=settings)
    return {
        **head_context(state, doc, can_edit=can_edit),
        **ctx,
        "doc": doc,
        "previews": previews,
        "columns": previews.columns,
        "settings": settings,
        "settings_form": settings_form,
        "model_fields": [_model_field(key, settings, choices) for key in COLUMN_KEYS],
        "system_remarks": system,
        "options_remarks": options,
        "prompt_remarks": rest,
        "remark_slots": slots,
        "media_parts": media_parts,
        "varsig": editor.variable_signature(doc),
    }


def _model_field(key: str, settings: dict, choices) -> dict:
    """One protocol's pick in the settings: its checkbox, and a select of the team's models for
    it, then the presets (the selected one is the column's model, its default when none is set)."""
    mine = [c for c in choices if c.column == key]
    [picked] = pick({**settings, "columns": [key]}, mine) or [None]
    groups = [(name, [c for c in mine if c.group == name]) for name in ("Your models", "Presets")]
    return {
        "key": key,
        "label": SHORT_LABELS[key],
        "checked": key in settings["columns"],
        "selected": picked.id if picked else "",
        "groups": [(name, members) for name, members in groups if members],
    }
