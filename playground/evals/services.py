"""Evaluation sets' workflows: every write to sets and cases goes through here (views stay thin).

Values typed by users (expected answers, tags, fields, labels, scorer lists) are parsed by the
clean_* functions, which raise Invalid with a sentence for the user; nothing is written then.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Max, Prefetch, Q
from django.utils import timezone

from playground.evals.models import EvalCase, EvalCaseMedia, EvalSet, ExpectedKind
from playground.lib import jsonlimits
from playground.uploads import services as media
from playground.uploads.identify import MediaRejected
from playground.uploads.models import MediaItem

MAX_TAGS = 50
MAX_TAG_CHARS = 100
MAX_FIELDS = 100
MAX_FIELD_NAME = 64
MAX_FIELD_VALUE = 100_000
MAX_EXPECTED_CHARS = 100_000
MAX_MEDIA_PER_CASE = 20


class Invalid(ValueError):
    """A value the user gave cannot be used; str(exc) says why."""


def _no_nul(text: str, what: str) -> str:
    # PostgreSQL's jsonb cannot hold NUL (a CSV cell may carry one); refused the same on SQLite.
    if "\x00" in text:
        raise Invalid(f"{what} holds a NUL character")
    return text


# --- parsing what users type ------------------------------------------------------------------------


def clean_kind(value: Any, *, allow_blank: bool = False) -> str:
    value = "" if value is None else str(value).strip().lower()
    if value == "" and allow_blank:
        return ""
    if value not in ExpectedKind.values:
        raise Invalid(f"kind {value!r} is not one of {', '.join(ExpectedKind.values)}")
    return value


def clean_expected(value: Any, kind: str, *, labels: list | None = None, from_text: bool = True) -> Any:
    """The expected answer as stored, for kind. from_text: value is what a user typed (a form, a CSV
    cell), so a number or JSON is parsed from it; otherwise it is a JSON value already (JSONL).
    Blank → None (to fill in later)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if kind == ExpectedKind.JSON:
        if from_text:
            if not isinstance(value, str):
                raise Invalid("expected JSON must be text")
            try:
                return jsonlimits.loads(value)
            except (jsonlimits.Refused, json.JSONDecodeError) as exc:
                raise Invalid(f"expected is not valid JSON: {exc}") from None
        return value
    if kind == ExpectedKind.NUMBER:
        if isinstance(value, bool):
            raise Invalid("expected must be a number, not true/false")
        if isinstance(value, (int, float)):
            number = value
        else:
            try:
                number = float(str(value).strip().replace(",", "")) if not str(value).strip().lstrip("-").isdigit() \
                    else int(str(value).strip())
            except ValueError:
                raise Invalid(f"expected {str(value)[:40]!r} is not a number") from None
        if isinstance(number, float) and not math.isfinite(number):
            raise Invalid("expected must be a finite number")
        return number
    if isinstance(value, (dict, list)) or isinstance(value, bool):
        raise Invalid(f"expected must be text for kind {kind}")
    text = _no_nul(str(value), "expected")
    if len(text) > MAX_EXPECTED_CHARS:
        raise Invalid(f"expected is longer than {MAX_EXPECTED_CHARS:,} characters")
    if kind == ExpectedKind.LABEL:
        text = text.strip()
        if labels:
            canonical = label_for(text, labels)
            if canonical is None:
                allowed = ", ".join(entry["label"] for entry in labels[:20])
                raise Invalid(f"label {text[:40]!r} is not one of the set's labels ({allowed})")
            return canonical
    return text


def label_for(text: str, labels: list) -> str | None:
    """The label text names (itself or a synonym, ignoring case and surrounding spaces), else None."""
    wanted = text.strip().casefold()
    for entry in labels:
        if wanted == entry["label"].casefold() or wanted in (s.casefold() for s in entry.get("synonyms", [])):
            return entry["label"]
    return None


def clean_tags(value: Any) -> list[str]:
    """Tags from a list of strings or one string separated by ';' (or ','); order kept, duplicates dropped."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        sep = ";" if ";" in value or "," not in value else ","
        parts = value.split(sep)
    elif isinstance(value, list):
        parts = value
    else:
        raise Invalid("tags must be text separated by ';' or a list of strings")
    tags: list[str] = []
    for part in parts:
        if not isinstance(part, str):
            raise Invalid("tags must be strings")
        tag = _no_nul(part.strip(), "a tag")
        if len(tag) > MAX_TAG_CHARS:
            raise Invalid(f"tag {tag[:20]!r}… is longer than {MAX_TAG_CHARS} characters")
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise Invalid(f"a case has at most {MAX_TAGS} tags")
    return tags


def clean_field_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("a field needs a name")
    name = _no_nul(name.strip(), "a field name")
    if len(name) > MAX_FIELD_NAME or any(not (c.isalnum() or c in "_-.") for c in name):
        raise Invalid(f"field name {name[:40]!r} may hold letters, digits, '_', '-' and '.' only (at most {MAX_FIELD_NAME})")
    return name


def clean_fields(value: Any) -> dict[str, str]:
    """{name: string}. Numbers and true/false become text; lists and objects are refused."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise Invalid("fields must be an object of name → text")
    out = {}
    for name, v in value.items():
        name = clean_field_name(name)
        if v is None:
            v = ""
        elif isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (int, float)):
            v = str(v)
        elif not isinstance(v, str):
            raise Invalid(f"field {name!r} must be text, not a list or object")
        _no_nul(v, f"field {name!r}")
        if len(v) > MAX_FIELD_VALUE:
            raise Invalid(f"field {name!r} is longer than {MAX_FIELD_VALUE:,} characters")
        out[name] = v
    if len(out) > MAX_FIELDS:
        raise Invalid(f"a case has at most {MAX_FIELDS} fields")
    return out


def parse_fields_text(text: str) -> dict[str, str]:
    """Fields typed one per line as ``name: value`` (or ``name=value``)."""
    out: dict[str, Any] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        sep = min((i for i in (line.find(":"), line.find("=")) if i > 0), default=-1)
        if sep < 0:
            raise Invalid(f"fields line {n}: write it as name: value")
        out[line[:sep].strip()] = line[sep + 1:].strip()
    return clean_fields(out)


def clean_labels(value: Any) -> list[dict]:
    """[{"label": str, "synonyms": [str]}], from that JSON or from text lines ``cat: kitten, kitty``."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                value = jsonlimits.loads(text)
            except (jsonlimits.Refused, json.JSONDecodeError) as exc:
                raise Invalid(f"labels are not valid JSON: {exc}") from None
        else:
            value = []
            for line in text.splitlines():
                if line.strip():
                    label, _, synonyms = line.partition(":")
                    value.append({"label": label, "synonyms": [s for s in synonyms.split(",") if s.strip()]})
    if not isinstance(value, list):
        raise Invalid("labels must be a list")
    out, seen = [], set()
    for entry in value:
        if isinstance(entry, str):
            entry = {"label": entry, "synonyms": []}
        if not isinstance(entry, dict) or not isinstance(entry.get("label"), str) or not entry["label"].strip():
            raise Invalid('each label needs a "label" string')
        synonyms = entry.get("synonyms", [])
        if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
            raise Invalid(f'label {entry["label"]!r}: "synonyms" must be a list of strings')
        label = _no_nul(entry["label"].strip()[:MAX_TAG_CHARS], "a label")
        for synonym in synonyms:
            _no_nul(synonym, "a synonym")
        for name in (label, *synonyms):
            key = name.strip().casefold()
            if key in seen:
                raise Invalid(f"{name.strip()!r} is listed twice among the labels and synonyms")
            seen.add(key)
        out.append({"label": label, "synonyms": [s.strip() for s in synonyms if s.strip()]})
    return out


def clean_scorers(value: Any) -> list[dict]:
    """Scorer configurations, checked loosely: a list of objects, each with a string "type".
    playground/scoring validates each type's options when a run uses them."""
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = jsonlimits.loads(value)
        except (jsonlimits.Refused, json.JSONDecodeError) as exc:
            raise Invalid(f"scorers are not valid JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(s, dict) and isinstance(s.get("type"), str) for s in value):
        raise Invalid('scorers must be a list of objects, each with a "type" such as "exact"')
    return value


# --- sets ---------------------------------------------------------------------------------------------

# Checks run before a set is deleted: each returns a reason it must stay (e.g. "used by 3 evaluation
# runs"), or None. Evaluation runs register theirs; nothing depends on a set yet.
DELETE_CHECKS: list[Callable[[EvalSet], str | None]] = []


class SetInUse(Exception):
    pass


def create_set(*, team, user, name: str, description: str = "", expected_kind: str = ExpectedKind.TEXT,
               labels: Any = None, scorers: Any = None) -> EvalSet:
    return EvalSet.objects.create(
        team=team, created_by=user, name=name.strip()[:200], description=description,
        expected_kind=clean_kind(expected_kind), labels=clean_labels(labels or []), scorers=clean_scorers(scorers or []),
    )


def update_set(eval_set: EvalSet, *, name: str, description: str, expected_kind: str, labels: Any, scorers: Any) -> EvalSet:
    eval_set.name = name.strip()[:200]
    eval_set.description = description
    eval_set.expected_kind = clean_kind(expected_kind)
    eval_set.labels = clean_labels(labels)
    eval_set.scorers = clean_scorers(scorers)
    eval_set.save()
    return eval_set


def delete_set(eval_set: EvalSet) -> None:
    """Delete a set and its cases (the library items stay). SetInUse while something depends on it."""
    reasons = [r for check in DELETE_CHECKS if (r := check(eval_set))]
    if reasons:
        raise SetInUse(f"“{eval_set.name}” cannot be deleted: {'; '.join(reasons)}.")
    eval_set.delete()


@dataclass
class SetSummary:
    set: EvalSet
    case_count: int
    kinds: list[str]  # media kinds its cases hold, e.g. ["audio", "image"]


def set_summaries(team) -> list[SetSummary]:
    """The team's sets with case counts and media kinds: two queries, whatever the number of sets."""
    sets = list(EvalSet.objects.for_team(team).with_case_counts())
    kinds: dict[int, set[str]] = {}
    rows = EvalCaseMedia.objects.filter(case__set__team=team).values_list("case__set_id", "item__kind").distinct()
    for set_id, kind in rows:
        kinds.setdefault(set_id, set()).add(kind)
    return [SetSummary(s, s.case_count, sorted(kinds.get(s.pk, ()))) for s in sets]


def touch(eval_set: EvalSet) -> None:
    EvalSet.objects.filter(pk=eval_set.pk).update(updated_at=timezone.now())


# --- cases --------------------------------------------------------------------------------------------


def next_position(eval_set: EvalSet) -> int:
    return (eval_set.cases.aggregate(m=Max("position"))["m"] or 0) + 1


def slots_for(items: list[MediaItem]) -> list[str]:
    """Slot names for a case's media: the kind ("image", "audio"...), numbered when a kind repeats
    ("image", "image_2")."""
    seen: dict[str, int] = {}
    out = []
    for item in items:
        seen[item.kind] = seen.get(item.kind, 0) + 1
        out.append(item.kind if seen[item.kind] == 1 else f"{item.kind}_{seen[item.kind]}")
    return out


def add_cases(eval_set: EvalSet, rows: Iterable[dict]) -> list[EvalCase]:
    """Create cases in bulk. Each row: {"items": [MediaItem], "expected", "expected_kind", "fields",
    "tags"}, already cleaned. Items must belong to the set's team (checked: ValueError otherwise)."""
    rows = list(rows)
    if not rows:
        return []
    with transaction.atomic():
        start = next_position(eval_set)
        cases = [
            EvalCase(set=eval_set, position=start + i, expected=row.get("expected"),
                     expected_kind=row.get("expected_kind", ""), fields=row.get("fields") or {},
                     tags=row.get("tags") or [])
            for i, row in enumerate(rows)
        ]
        for row in rows:
            if any(item.team_id != eval_set.team_id for item in row["items"]):
                raise ValueError("a case's media must be in the set's team library")
        EvalCase.objects.bulk_create(cases)
        EvalCaseMedia.objects.bulk_create(
            EvalCaseMedia(case=case, item=item, slot=slot, position=p)
            for case, row in zip(cases, rows, strict=True)
            for p, (item, slot) in enumerate(zip(row["items"], slots_for(row["items"]), strict=True))
        )
        touch(eval_set)
    return cases


@dataclass
class Refusal:
    name: str
    reason: str


def cases_from_uploads(eval_set: EvalSet, *, user, files) -> tuple[list[EvalCase], list[Refusal]]:
    """One case per uploaded file, expected blank. Each file goes through the library's checks
    (decoded in the sandbox, deduplicated by content); refused files are listed with their reason."""
    items, refused = [], []
    for uploaded in files:
        try:
            items.append(media.add_upload(team=eval_set.team, user=user, uploaded_file=uploaded).item)
        except MediaRejected as exc:
            refused.append(Refusal(media._display_name(uploaded.name), str(exc)))
    return add_cases(eval_set, [{"items": [item]} for item in items]), refused


def cases_from_items(eval_set: EvalSet, item_ids: Iterable[int]) -> list[EvalCase]:
    """One case per library item of the set's team (ids of other teams are ignored), in the order given."""
    ids = list(dict.fromkeys(item_ids))
    found = MediaItem.objects.for_team(eval_set.team).in_bulk(ids)
    return add_cases(eval_set, [{"items": [found[i]]} for i in ids if i in found])


def update_case(case: EvalCase, *, expected: str, kind: str, tags: str, fields: str) -> EvalCase:
    """Edit a case from its inline form (text as typed). Raises Invalid; then nothing changes."""
    kind = clean_kind(kind, allow_blank=True)
    effective = kind or case.set.expected_kind
    case.expected = clean_expected(expected, effective, labels=case.set.labels)
    case.expected_kind = kind
    case.tags = clean_tags(tags)
    case.fields = parse_fields_text(fields)
    case.save(update_fields=["expected", "expected_kind", "tags", "fields"])
    touch(case.set)
    return case


def delete_case(case: EvalCase) -> None:
    eval_set = case.set
    case.delete()
    touch(eval_set)


def expected_text(case: EvalCase) -> str:
    """The expected answer as a user would type it back into the inline form."""
    if case.expected is None:
        return ""
    if isinstance(case.expected, str):
        return case.expected
    return json.dumps(case.expected, ensure_ascii=False)


def fields_text(case: EvalCase) -> str:
    return "\n".join(f"{k}: {v}" for k, v in case.fields.items())


# --- browsing -------------------------------------------------------------------------------------------


def browse(eval_set: EvalSet, *, tag: str = "", q: str = ""):
    """The set's cases filtered by tag and text (expected, fields, media names), media prefetched:
    a page costs the same few queries whatever its size."""
    cases = eval_set.cases.all()
    if tag:
        # JSON containment is not on SQLite, and the JSON text differs between databases (escaped
        # non-ASCII on SQLite, not on PostgreSQL), so the tag lists are read and matched here.
        ids = [pk for pk, tags in eval_set.cases.values_list("pk", "tags").iterator(chunk_size=2000) if tag in (tags or ())]
        cases = cases.filter(pk__in=ids)
    if q:
        cases = cases.filter(
            Q(expected__icontains=q) | Q(fields__icontains=q) | Q(media__item__name__icontains=q)
        ).distinct()
    return cases.prefetch_related(
        Prefetch("media", queryset=EvalCaseMedia.objects.select_related("item").order_by("position", "id"))
    )


def tag_counts(eval_set: EvalSet, limit: int = 200) -> list[tuple[str, int]]:
    """Tags used in the set with their case counts, most used first (read from the tag lists)."""
    counts: dict[str, int] = {}
    for tags in eval_set.cases.values_list("tags", flat=True).iterator(chunk_size=2000):
        for tag in tags or ():
            counts[tag] = counts.get(tag, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def media_kind_counts(eval_set: EvalSet) -> dict[str, int]:
    return dict(
        EvalCaseMedia.objects.filter(case__set=eval_set).values_list("item__kind").annotate(n=Count("pk")).order_by()
    )
