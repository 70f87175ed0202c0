"""The side-by-side preview: one prompt document, the exact request each chosen protocol gets.

    from playground.prompts.previews import columns_for, render_previews
    previews = render_previews(doc=doc, values=None, source=LibrarySource(team), targets=columns_for(settings, team))
    for column in previews.columns:
        column.label, column.model_label, column.api_version, column.tokens.total, column.estimated_cost,
        column.rendered.display(), column.rendered.ok, column.remarks, column.changes

Each column is a protocol and a model (prompts/columns.py): one of the team's configured models,
fitted as a run fits it (fitting.py), or a preset.

The views only shape what this returns into HTML, so `bench/preview.py` can time exactly the work
a keystroke in the editor costs. Nothing here reads media bytes: payloads are file references,
and the display form elides them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from playground.prompts.columns import ColumnChoice, choices_for, column_key, pick
from playground.prompts.document import (
    UNRESOLVED,
    Built,
    MediaSource,
    PartIssue,
    build_prompt,
    for_target,
    is_placeholder_problem,
    media_refs,
)
from playground.prompts.fitting import Change, fit, sent_media
from playground.prompts.snippets import snippets
from playground.protocols import Fallback, RenderedRequest, Target, TokenEstimate, estimate_tokens, render
from playground.protocols.anthropic_messages import version as anthropic_version
from playground.protocols.anthropic_messages import version_summary

LABELS = {
    "chat": "OpenAI Chat Completions",
    "responses": "OpenAI Responses",
    "messages": "Anthropic Messages",
    "gemini": "Google Gemini",
    "gateway": "Chat via gateway",
}
SHORT_LABELS = {"chat": "Chat", "responses": "Responses", "messages": "Anthropic", "gemini": "Gemini", "gateway": "Gateway"}
COLUMN_KEYS = tuple(LABELS)

# A media part that could not be resolved (deleted item...) stays in the prompt as an unfilled
# slot with this variable name, so the parts after it keep their index: the protocols' notes and
# refusals then point at the right part of the document. Its "no media" problem is replaced by
# the issue itself.


def columns_for(settings: dict, team=None) -> list[ColumnChoice]:
    """The model of each column the preview settings show (forms.PreviewSettingsForm.settings()):
    the one picked, else the team's first configured model for that protocol, else a preset
    (prompts/columns.py; the choices come from the catalog)."""
    return pick(settings, choices_for(team))


def targets_for(settings: dict, team=None) -> list[Target]:
    """The Targets of the preview settings' columns (see columns_for)."""
    return [c.target for c in columns_for(settings, team)]


# --- what is said about one place of the prompt ------------------------------------------------------

# Where a remark belongs in the editor: ("part", mi, pi), ("system", pi), ("message", mi),
# ("variable", name), ("options",) or ("prompt",).
Place = tuple

_WHERE = re.compile(r"^(?:message (\d+)(?: \([a-z]+\))?|system)(?:, part (\d+))?$")
_SETTING_WHERES = {"temperature", "max_tokens", "response format", "request size", "images", "target"}


def place_of(where: str, mi: int | None = None, pi: int | None = None, variable: str | None = None) -> Place:
    if variable and not variable.startswith(UNRESOLVED):
        return ("variable", variable)
    if mi is None and pi is None:
        m = _WHERE.match(where or "")
        if m:
            mi = int(m.group(1)) - 1 if m.group(1) else None
            pi = int(m.group(2)) - 1 if m.group(2) else None
            if mi is None:
                return ("system", pi or 0)
        elif where in _SETTING_WHERES:
            return ("options",)
        else:
            return ("prompt",)
    if mi is None:
        return ("system", pi or 0)
    if pi is None:
        return ("message", mi)
    return ("part", mi, pi)


def fallback_action(fallback: Fallback | None, place: Place, media_places=(), column: str | None = None) -> str | None:
    """The editor action (editor.apply_action) that applies a fallback, if the editor can.

    ``column``: the preview column (target key) that refused the part. The fallback is then for
    that target only (the part's "variant_for"), so fixing Chat does not change what Gemini gets:
    ``fallback:{mi}:{pi}:{column}:{kind}:{spec}`` (spec last: it may hold ':'). Without a column
    the column field is empty and the fallback becomes the part's own "variant", for every target.
    """
    if fallback is None:
        return None
    if fallback.kind == "option" and fallback.spec:
        return f"option:{fallback.spec}"
    if place[0] == "part" and (place[1], place[2]) in media_places:
        return f"fallback:{place[1]}:{place[2]}:{column or ''}:{fallback.kind}:{fallback.spec or ''}"
    return None


def merge_actions(a: str | None, b: str | None) -> str | None:
    """One button for the same fallback offered by several columns: the action ``a`` with the
    columns of ``b`` added (when both apply the same fallback to the same part), else ``a`` (or
    ``b`` when ``a`` has none: a configured column offers no clamping, a preset column's button stays)."""
    if not a or not b or not a.startswith("fallback:") or not b.startswith("fallback:"):
        return a or b
    head_a, cols_a, tail_a = _split_action(a)
    head_b, cols_b, tail_b = _split_action(b)
    if (head_a, tail_a) != (head_b, tail_b) or not cols_a or not cols_b:
        return a
    cols = ",".join(dict.fromkeys(cols_a.split(",") + cols_b.split(",")))
    return f"{head_a}:{cols}:{tail_a}"


def _split_action(action: str) -> tuple[str, str, str]:
    name, mi, pi, cols, tail = action.split(":", 4)
    return f"{name}:{mi}:{pi}", cols, tail


@dataclass
class Remark:
    """One thing a column says (a refusal, a problem, a note, an unresolved media issue)."""

    kind: str  # "refusal" | "problem" | "note" | "issue" | "change" (a fallback applied, as a run applies it) | "setup"
    level: str  # "error" | "warning" | "info"
    message: str
    where: str
    place: Place
    fallback: Fallback | None = None
    action: str | None = None  # applies the fallback in the editor


@dataclass
class PlaceRemark:
    """A remark as the editor shows it on a part: the same words from several columns once."""

    kind: str
    level: str
    message: str
    fallback: Fallback | None
    columns: list[str] = field(default_factory=list)
    action: str | None = None


@dataclass
class Column:
    key: str
    target: Target
    rendered: RenderedRequest
    tokens: TokenEstimate
    issues: list[PartIssue]
    media_places: frozenset = frozenset()  # (mi, pi) of the document's library media parts
    choice: ColumnChoice | None = None  # the model picked (None: a bare Target, e.g. bench/preview.py)
    changes: list[Change] = field(default_factory=list)  # fallbacks applied, as a run applies them

    @property
    def label(self) -> str:
        return LABELS[self.key]

    @property
    def short_label(self) -> str:
        return SHORT_LABELS[self.key]

    @property
    def model(self) -> str:
        return self.target.model

    @property
    def model_label(self) -> str:
        """The model as the header names it: "Claude Sonnet 4.6 (Anthropic)"."""
        return self.target.label or self.target.model

    @property
    def configured(self) -> bool:
        """One of the team's models: the column is fitted and shows what a run sends."""
        return bool(self.choice and self.choice.configured)

    @property
    def api_version(self) -> str | None:
        """The anthropic-version the body is for (Messages only)."""
        return anthropic_version(self.target) if self.target.protocol == "messages" else None

    @property
    def api_version_summary(self) -> str:
        """What a body for that version may carry, in words (protocols/anthropic_messages.py)."""
        return version_summary(self.api_version) if self.api_version else ""

    @cached_property
    def sent_media(self) -> dict:
        return sent_media(self.rendered)

    @cached_property
    def estimated_cost(self) -> Decimal | None:
        """The input at the model's prices (as runs' preflight counts it), or None when unpriced."""
        if self.choice is None or self.choice.cost is None:
            return None
        m = self.sent_media
        return self.choice.cost(input_tokens=self.tokens.total, output_tokens=0, images=m["images"],
                                audio_seconds=m["audio_s"])

    @property
    def ok(self) -> bool:
        """Sendable: no refusal, no error, every media part resolved."""
        return self.rendered.ok and not self.issues

    @cached_property
    def display(self) -> str:
        return self.rendered.display()

    @cached_property
    def display_html(self) -> str:
        from playground.prompts.highlight import highlight_json

        return highlight_json(self.display)

    @cached_property
    def remarks(self) -> list[Remark]:
        r = self.rendered
        out = [Remark("issue", "error", i.message, i.where,
                      ("part", i.message_index, i.part_index) if i.part_index is not None else ("variable", _issue_var(i)))
               for i in self.issues]
        if self.choice is not None and self.choice.notice:
            out.append(Remark("setup", "warning", self.choice.notice, self.model_label, ("prompt",)))
        for c in self.changes:
            place = ("variable", c.variable) if c.variable else ("part", c.message_index, c.part_index)
            where = f"{{{{{c.variable}}}}}" if c.variable else f"message {c.message_index + 1}, part {c.part_index + 1}"
            out.append(Remark("change", "warning", f"changed: {c.text}", where, place))
        for x in r.refusals:
            place = ("options",) if x.modality == "setting" else place_of(x.where, x.message_index, x.part_index)
            out.append(Remark("refusal", "error", x.reason, x.where, place, x.fallback,
                              fallback_action(x.fallback, place, self.media_places, column=self.key)))
        out += [Remark("problem", p.level, p.message, p.where, place_of(p.where, variable=p.variable))
                for p in r.problems if not is_placeholder_problem(p)]
        out += [Remark("note", n.level, n.message, n.where, place_of(n.where, n.message_index, n.part_index))
                for n in r.notes]
        if self.configured:
            # An option fallback (clamping) is a preview setting for presets: a run of a configured
            # model sends the prompt as it is, so its column offers no such button.
            for x in out:
                if x.fallback is not None and x.fallback.kind == "option":
                    x.action = None
        return out

    @property
    def refusals(self) -> list[Remark]:
        return [x for x in self.remarks if x.kind in ("refusal", "issue") or (x.kind == "problem" and x.level == "error")]

    @property
    def warnings(self) -> list[Remark]:
        return [x for x in self.remarks if x.level == "warning"]

    @property
    def infos(self) -> list[Remark]:
        return [x for x in self.remarks if x.level == "info"]

    @property
    def warning_count(self) -> int:
        """Everything that is not plain information: refusals, errors, warnings."""
        return sum(1 for x in self.remarks if x.level != "info")

    @property
    def body_size(self) -> int | None:
        return self.rendered.body_size() if self.ok else None

    def filename(self, prompt_name: str) -> str:
        return body_filename(prompt_name, self.key)

    def snippets(self, prompt_name: str) -> list:
        """Every snippet of this column (curl, httpx, the protocol's SDK, fetch): prompts/snippets.py."""
        return snippets(self.rendered, self.filename(prompt_name)) if self.ok else []


def _issue_var(issue: PartIssue) -> str:
    m = re.search(r"\{\{(.+?)\}\}", issue.where)
    return m.group(1) if m else issue.where


@dataclass
class PreviewSet:
    columns: list[Column]
    built: Built
    seconds: float = 0.0

    @property
    def issues(self) -> list[PartIssue]:
        return self.built.issues

    @property
    def pending(self) -> bool:
        """A column waits for a variant that a read-only render (a GET) did not make: the page
        asks again by POST (templates/prompts/_columns.html), which makes it."""
        return any(i.pending for c in self.columns for i in c.issues)

    @cached_property
    def by_place(self) -> dict[Place, list[PlaceRemark]]:
        """Every column's remarks grouped by where they belong in the editor; the same words
        from several columns are listed once, with the columns that said them."""
        out: dict[Place, list[PlaceRemark]] = {}
        for column in self.columns:
            for x in column.remarks:
                bucket = out.setdefault(x.place, [])
                for seen in bucket:
                    if (seen.kind, seen.level, seen.message, seen.fallback) == (x.kind, x.level, x.message, x.fallback):
                        if column.short_label not in seen.columns:
                            seen.columns.append(column.short_label)
                        seen.action = merge_actions(seen.action, x.action)  # one button for all those columns
                        break
                else:
                    bucket.append(PlaceRemark(x.kind, x.level, x.message, x.fallback, [column.short_label], x.action))
        for bucket in out.values():
            bucket.sort(key=lambda r: {"error": 0, "warning": 1}.get(r.level, 2))
        return out

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


# --- the one function to time -------------------------------------------------------------------------


def render_previews(*, doc: dict, values: dict | None, source: MediaSource,
                    targets: list[Target | ColumnChoice]) -> PreviewSet:
    """Build the document as each column key gets it (its per-target fallbacks resolved by
    for_target; once per distinct document), render it for every target, and estimate each one's
    tokens.

    ``doc`` is a normalized prompt document; ``values`` override its variables. ``targets`` are
    the columns' models (columns_for) or bare Targets. A configured model's column is fitted as a
    run fits it (fitting.py): its body is the one the run sends, with each applied fallback a
    "changed" remark. Unresolvable media and user mistakes are remarks, never exceptions.
    """
    start = time.perf_counter()
    if hasattr(source, "prefetch"):
        source.prefetch(_item_ids(doc))
    # One build per distinct document the column keys get: for_target returns ``doc`` itself when
    # no part has a per-target fallback; otherwise keys whose resolved documents are equal share one.
    builds: dict[str, Built] = {}

    def built_for(key: str) -> Built:
        doc_k = for_target(doc, key)
        sig = "" if doc_k is doc else json.dumps(doc_k, sort_keys=True, default=str)
        if sig not in builds:
            builds[sig] = build_prompt(doc_k, source, values)
        return builds[sig]

    media_places = frozenset((mi, pi) for mi, m in enumerate(doc["messages"]) for pi, p in enumerate(m["parts"]) if "media" in p)
    columns = []
    first: Built | None = None  # PreviewSet.built: the first column's build (or the document's)
    for given in targets:
        choice = given if isinstance(given, ColumnChoice) else None
        target = choice.target if choice else given
        key = column_key(target)
        if choice is not None and choice.configured:
            fitted = fit(doc, values, source, target, key=key)
            built, rendered, changes = fitted.built, fitted.rendered, fitted.changes
        else:
            built = built_for(key)
            rendered, changes = render(built.prompt, built.values, target), []
        columns.append(Column(key, target, rendered, estimate_tokens(rendered), list(built.issues), media_places,
                              choice, changes))
        first = first or built
    return PreviewSet(columns, first or build_prompt(doc, source, values), time.perf_counter() - start)


def _item_ids(doc: dict) -> list[int]:
    from playground.prompts.library_source import item_id_of

    return [i for i in (item_id_of(r) for r in media_refs(doc)) if i is not None]


# --- files and snippets ----------------------------------------------------------------------------


def body_filename(prompt_name: str, key: str) -> str:
    from django.utils.text import slugify

    base = slugify(prompt_name)[:60] or "prompt"
    return f"{base}-{key}.json"


def curl_snippet(rendered: RenderedRequest, filename: str) -> str:
    """curl with the body in it (a heredoc; a big body from the downloaded file): prompts/snippets.py."""
    return _snippet(rendered, filename, "curl")


def httpx_snippet(rendered: RenderedRequest, filename: str) -> str:
    """Python (httpx) with the body in it, the key read from the environment: prompts/snippets.py."""
    return _snippet(rendered, filename, "httpx")


def _snippet(rendered: RenderedRequest, filename: str, key: str) -> str:
    return next((s.text for s in snippets(rendered, filename) if s.key == key), "")

