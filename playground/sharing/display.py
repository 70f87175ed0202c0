"""What a shared page shows, read only: the prompt, its media, the protocol previews and the chosen
runs. Plain dataclasses; the view only adds the visitor's token to media URLs.

Previews are the preset columns (one per protocol: catalog's presets, the same columns a team
with no providers sees), never the team's configured models: those would show the team's
provider names, base URLs (an internal host, a gateway) and key variables. The previews of a
version never change, so their HTML is cached by version (content hash included); a link to
"always the latest" reads the newest version's id and finds the same cache entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from playground.prompts.columns import choices_for, pick
from playground.prompts.document import DocumentError, media_refs, normalize
from playground.prompts.library_source import LibrarySource, item_id_of
from playground.prompts.models import PromptVersion
from playground.prompts.previews import COLUMN_KEYS, render_previews
from playground.runs.display import TRANSPORT_KINDS, ResultCard, plain_error, result_cards
from playground.runs.models import Result, Run
from playground.sharing.models import ShareLink
from playground.uploads.models import MediaItem

CACHE_PREFIX = "sharing:previews:v1"  # bump when the previews' HTML changes shape
CACHE_SECONDS = 24 * 3600


def shared_document(version: PromptVersion) -> dict | None:
    try:
        return normalize(version.content)
    except DocumentError:
        return None


def shared_item_ids(doc: dict | None) -> set[int]:
    """The library items a version's document names (parts and media variables): the only media a
    link serves."""
    if doc is None:
        return set()
    return {i for i in (item_id_of(ref) for ref in media_refs(doc)) if i is not None}


def shared_item(link: ShareLink, version: PromptVersion, item_id: int) -> MediaItem | None:
    """The item if the shared version names it and it is the prompt's team's; else None."""
    if item_id not in shared_item_ids(shared_document(version)):
        return None
    return MediaItem.objects.select_related("file", "thumbnail").filter(pk=item_id, team_id=link.prompt.team_id).first()


@dataclass
class SharedPart:
    type: str  # text | media | url | slot
    text: str = ""
    item: MediaItem | None = None
    ref: Any = None
    kind: str = ""
    variable: str = ""
    settings: list[str] = field(default_factory=list)  # detail, send, variant, optional: in words


@dataclass
class SharedMessage:
    role: str
    parts: list[SharedPart]


@dataclass
class SharedVariable:
    name: str
    text: str | None = None
    item: MediaItem | None = None
    url: str = ""


@dataclass
class SharedResult:
    card: ResultCard  # as the run page has it (usage, cost, marks, output as escaped markdown)
    error: str  # what went wrong in plain words, naming no host


@dataclass
class SharedRun:
    run: Run
    number: int  # the version it ran
    values: list[tuple[str, str]]  # the text values it was run with
    results: list[SharedResult]


@dataclass
class SharedPage:
    link: ShareLink
    version: PromptVersion
    name: str
    system: str
    messages: list[SharedMessage]
    variables: list[SharedVariable]
    options: list[tuple[str, str]]
    media: list[MediaItem]  # each library item once, in the order the prompt uses them
    previews_html: SafeString
    runs: list[SharedRun]
    readable: bool = True  # False: the version is not a valid document (shown as its raw JSON)
    raw: str = ""


def shared_page(link: ShareLink, version: PromptVersion) -> SharedPage:
    prompt = link.prompt
    doc = shared_document(version)
    if doc is None:
        return SharedPage(link, version, prompt.name, "", [], [], [], [], mark_safe(""), _runs(link),
                          readable=False, raw=json.dumps(version.content, indent=2, ensure_ascii=False)[:200_000])
    ids = shared_item_ids(doc)
    items = {i.pk: i for i in MediaItem.objects.filter(team_id=prompt.team_id, pk__in=ids).select_related("thumbnail")}
    messages = [SharedMessage(m["role"], [_part(p, items) for p in m["parts"]]) for m in doc["messages"]]
    variables = []
    for name, value in doc["variables"].items():
        if isinstance(value, dict):
            ref = value["media"]
            variables.append(SharedVariable(name, item=items.get(item_id_of(ref)),
                                            url=ref.get("url", "") if isinstance(ref, dict) else ""))
        else:
            variables.append(SharedVariable(name, text=value))
    options = [(k, json.dumps(v, indent=2, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v))
               for k, v in doc["options"].items()]
    ordered = [items[i] for i in dict.fromkeys(item_id_of(r) for r in media_refs(doc)) if i in items]
    return SharedPage(link, version, doc.get("name") or prompt.name, doc["system"], messages, variables, options,
                      ordered, previews_html(version, doc), _runs(link))


def _part(p: dict, items: dict) -> SharedPart:
    if "text" in p:
        return SharedPart("text", text=p["text"])
    settings = []
    if p.get("detail"):
        settings.append(f"detail {p['detail']}")
    if p.get("send") == "url":
        settings.append("sent by URL")
    if p.get("variant"):
        settings.append("sent as a converted copy")
    if p.get("variant_for"):
        settings.append("a converted copy for " + ", ".join(sorted(p["variant_for"])))
    if p.get("optional"):
        settings.append("left out for models that cannot take it")
    if "media_variable" in p:
        return SharedPart("slot", variable=p["media_variable"], kind=p.get("kind", ""), settings=settings)
    ref = p["media"]
    if isinstance(ref, dict) and "url" in ref:
        return SharedPart("url", ref=ref.get("url", ""), kind=ref.get("kind", ""), settings=settings)
    item = items.get(item_id_of(ref))
    return SharedPart("media", item=item, kind=item.kind if item else "", settings=settings)


# --- previews ------------------------------------------------------------------------------------


def preset_columns():
    """One preset column per protocol, with the preview's default settings."""
    return pick({"columns": list(COLUMN_KEYS)}, choices_for(None))


def previews_html(version: PromptVersion, doc: dict) -> SafeString:
    """The preview columns' HTML, from the cache when this version was shown before. Not cached
    while a converted copy a part asks for is still being made (the columns say so)."""
    key = f"{CACHE_PREFIX}:{version.pk}:{version.content_sha256}"
    if (html := cache.get(key)) is not None:
        return mark_safe(html)
    source = LibrarySource(version.prompt.team, make_variants=False)  # a GET makes nothing
    previews = render_previews(doc=doc, values=None, source=source, targets=preset_columns())
    html = render_to_string("sharing/_columns.html", {"columns": previews.columns, "pending": previews.pending})
    if not previews.pending:
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)


# --- runs ----------------------------------------------------------------------------------------


def _runs(link: ShareLink) -> list[SharedRun]:
    runs = list(link.runs.filter(prompt_version__prompt_id=link.prompt_id, team_id=link.prompt.team_id)
                .select_related("prompt_version").order_by("-created_at", "-id"))
    if not runs:
        return []
    by_run: dict[int, list[Result]] = {r.pk: [] for r in runs}
    for result in Result.objects.filter(run__in=runs).order_by("run_id", "position"):
        by_run[result.run_id].append(result)
    return [SharedRun(run, run.prompt_version.number, _text_values(run),
                      [SharedResult(card, shared_error(card.result)) for card in result_cards(by_run[run.pk])])
            for run in runs]


def shared_error(result: Result) -> str:
    """runs.display.plain_error without the client's headline for a timeout or a broken
    connection: that names the provider's host ("Could not connect to llm.internal:8000")."""
    if result.status == Result.Status.FAILED and result.error_kind in TRANSPORT_KINDS:
        return TRANSPORT_KINDS[result.error_kind]
    return plain_error(result)


def _text_values(run: Run) -> list[tuple[str, str]]:
    """The run's text values; media values are left out (they may name other media of the team)."""
    values = run.values if isinstance(run.values, dict) else {}
    return [(str(k), v) for k, v in values.items() if isinstance(v, str)]
