"""Evaluation runs: what views and tasks call.

    slots = prompt_slots(version)                    # {"media": [("photo", "image")], "text": ["subject"]}
    bindings = default_bindings(version, eval_set)   # matched by name (or the only slot of that kind)
    summary = preflight_summary(eval_set=s, version=v, bindings=b, provider_models=[...], arms=[...], samples=1)
    er = starting.create_eval_run(team=..., user=..., eval_set=s, version=v, bindings=b, provider_models=[...], ...)
    progress(er)       # prepared cases, results by status, cost so far
    cancel(er)         # stops preparing, cancels queued and running results (runs.services.cancel_runs)
    stop_for_budget(er)  # status "stopped": unsent results cancelled, the sent ones kept

Preparing (prepare.py) makes an EvalItem and its Run per case x arm x sample; the runs worker sends.
An arm's media settings are applied to a copy of the prompt's document (arm_content), handed to
runs.services.start_run as ``content``: the version is unchanged, the stored body is the arm's.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from playground.catalog.models import ProviderModel
from playground.evalruns.models import EvalItem, EvalRun
from playground.evals.models import EvalCase, EvalCaseMedia
from playground.prompts.editor import variable_uses
from playground.prompts.library_source import LibrarySource
from playground.runs import services as runs_services
from playground.runs.models import Result
from playground.scoring import registry

MAX_SAMPLES = 20
PREFLIGHT_SAMPLE = 20  # cases whose requests are rendered for the preflight estimate (then scaled)

# Media-setting arms a team can pick: key -> (title, settings). "kind": the media slots they apply to.
ARM_PRESETS: dict[str, tuple[str, dict]] = {
    "as-is": ("As uploaded", {}),
    "edge-512": ("Image max edge 512 px", {"kind": "image", "variant": {"max_edge": 512}}),
    "edge-1024": ("Image max edge 1024 px", {"kind": "image", "variant": {"max_edge": 1024}}),
    "edge-2048": ("Image max edge 2048 px", {"kind": "image", "variant": {"max_edge": 2048}}),
    "detail-low": ("Image detail low", {"kind": "image", "detail": "low"}),
    "detail-high": ("Image detail high", {"kind": "image", "detail": "high"}),
    "jpeg-q50": ("JPEG quality 50", {"kind": "image", "variant": {"format": "jpeg", "quality": 50}}),
    "jpeg-q85": ("JPEG quality 85", {"kind": "image", "variant": {"format": "jpeg", "quality": 85}}),
    "audio-16k": ("Audio 16 kHz WAV", {"kind": "audio", "variant": {"format": "wav", "sample_rate": 16000}}),
    "audio-8k": ("Audio 8 kHz WAV", {"kind": "audio", "variant": {"format": "wav", "sample_rate": 8000}}),
    "audio-mp3": ("Audio MP3", {"kind": "audio", "variant": {"format": "mp3"}}),
}
# What a set's expected kind is scored with when the set names no scorer.
DEFAULT_SCORER = {"label": "label", "text": "exact", "number": "number", "json": "json_fields"}


class Invalid(ValueError):
    """A bad choice on the new-evaluation form; str(exc) says which and why."""


# --- bindings ------------------------------------------------------------------------------------


def prompt_slots(version) -> dict:
    """The prompt's media variables (name, kind) and text variables, in order of first use."""
    uses = variable_uses(version.content)
    return {"media": [(n, k) for n, k in uses.items() if k != "text"], "text": [n for n, k in uses.items() if k == "text"]}


def set_slots(eval_set) -> dict:
    """The case media slots (with their kinds) and field names the set's cases use."""
    slots: dict[str, str] = {}
    for slot, kind in (EvalCaseMedia.objects.filter(case__set=eval_set).values_list("slot", "item__kind")
                       .distinct().order_by("slot")):  # fmt: skip
        slots.setdefault(slot, kind)
    fields: dict[str, None] = {}
    for f in EvalCase.objects.filter(set=eval_set).values_list("fields", flat=True)[:2000]:
        for name in f or {}:
            fields.setdefault(name, None)
    return {"media": slots, "fields": list(fields)}


def default_bindings(version, eval_set) -> dict:
    """Each prompt variable bound to the case slot or field of the same name; a media variable
    with no namesake takes the only slot of its kind (or the only slot)."""
    p, s = prompt_slots(version), set_slots(eval_set)
    media = {}
    for name, kind in p["media"]:
        if name in s["media"]:
            media[name] = name
            continue
        same_kind = [slot for slot, k in s["media"].items() if k == kind]
        if len(same_kind) == 1:
            media[name] = same_kind[0]
        elif len(s["media"]) == 1:
            media[name] = next(iter(s["media"]))
    variables = {name: name for name in p["text"] if name in s["fields"]}
    return {"media": media, "variables": variables}


def clean_bindings(version, eval_set, media: dict, variables: dict) -> dict:
    """The form's bindings checked: every media variable bound to a slot the set has; a text
    variable bound to a field the set has, or left to the prompt's own value ("")."""
    p, s = prompt_slots(version), set_slots(eval_set)
    out = {"media": {}, "variables": {}}
    for name, _kind in p["media"]:
        slot = (media.get(name) or "").strip()
        if not slot:
            raise Invalid(f"Choose the case media for the prompt's media variable “{name}”.")
        if slot not in s["media"]:
            raise Invalid(f"The set's cases have no media slot “{slot}” (for “{name}”).")
        out["media"][name] = slot
    for name in p["text"]:
        field = (variables.get(name) or "").strip()
        if field:
            if field not in s["fields"]:
                raise Invalid(f"The set's cases have no field “{field}” (for “{{{{{name}}}}}”).")
            out["variables"][name] = field
    return out


def clean_arms(keys) -> list[dict]:
    keys = [k for k in dict.fromkeys(keys or []) if k]
    unknown = [k for k in keys if k not in ARM_PRESETS]
    if unknown:
        raise Invalid(f"Unknown media setting: {', '.join(unknown)}.")
    keys = keys or ["as-is"]
    return [{"key": k, "title": ARM_PRESETS[k][0], "settings": copy.deepcopy(ARM_PRESETS[k][1])} for k in keys]


def case_values(case, bindings: dict, media_by_slot: dict) -> dict:
    """The run's variable values for one case: {"<media var>": {"media": {"item": id}}, "<var>": field}."""
    values = {}
    for var, slot in (bindings.get("media") or {}).items():
        item_id = media_by_slot.get(slot)
        if item_id is not None:
            values[var] = {"media": {"item": item_id}}
    for var, field in (bindings.get("variables") or {}).items():
        if field in (case.fields or {}):
            values[var] = str(case.fields[field])
    return values


def arm_content(doc: dict, arm: dict, values: dict, kinds: dict) -> dict | None:
    """The document as this arm sends it, or None when the arm changes nothing (send the version's).
    Each media-variable slot of the arm's kind becomes the case's item with the arm's "variant" and
    "detail"; the version's own document is not touched. ``kinds``: media variable -> kind."""
    settings = arm.get("settings") or {}
    if not settings.get("variant") and not settings.get("detail"):
        return None
    out = copy.deepcopy(doc)
    for message in out["messages"]:
        for i, part in enumerate(message["parts"]):
            name = part.get("media_variable")
            if name is None or kinds.get(name) != settings.get("kind") or name not in values:
                continue
            new = {"media": values[name]["media"], "kind": part.get("kind")}
            for key in ("optional", "detail"):
                if key in part:
                    new[key] = part[key]
            if settings.get("detail"):
                new["detail"] = settings["detail"]
            if settings.get("variant"):
                new["variant"] = dict(settings["variant"])
            message["parts"][i] = new
    return out


def run_scorers(eval_set) -> list[dict]:
    """The set's scorers as the run keeps them ({"name", "config"}), or the default for its kind."""
    out = []
    for s in eval_set.scorers or []:
        config = {k: v for k, v in s.items() if k != "type"}
        out.append({"name": s["type"], "config": config})
    if not out:
        out = [{"name": DEFAULT_SCORER.get(eval_set.expected_kind, "exact"), "config": {}}]
    return out


def clean_scorers(scorers: list[dict], eval_set) -> list[dict]:
    """Each scorer known and its options valid (labels default to the set's)."""
    problems = []
    for s in scorers:
        name = s.get("name")
        if not isinstance(s.get("config", {}), dict):
            problems.append(f"{name}: config must be an object")
            continue
        if name not in registry.SCORERS:
            problems.append(f"unknown scorer “{name}”")
            continue
        config = labels_filled(name, s.get("config") or {}, eval_set)
        problems += [f"{name}: {p}" for p in registry.validate_config(name, config)]
    if problems:
        raise Invalid("Scorers: " + "; ".join(problems) + ".")
    return scorers


def labels_filled(name: str, config: dict, eval_set) -> dict:
    if name == "label" and not config.get("labels"):
        return {**config, "labels": {entry["label"]: list(entry.get("synonyms") or []) for entry in eval_set.labels or []}}
    return config


# --- preflight -----------------------------------------------------------------------------------


def team_models(team, ids=None):
    qs = ProviderModel.objects.filter(provider__team=team).select_related("provider").order_by("provider__name", "name")
    if ids is not None:
        found = {pm.pk: pm for pm in qs.filter(pk__in=ids)}
        return [found[i] for i in ids if i in found]
    return list(qs)


def _cases_with_media(eval_set, limit=None, after_position=None):
    qs = EvalCase.objects.filter(set=eval_set).order_by("position", "id").prefetch_related("media")
    if limit:
        qs = qs[:limit]
    return list(qs)


def media_by_slot(case) -> dict:
    return {m.slot: m.item_id for m in case.ordered_media()}


def preflight_summary(*, team, eval_set, version, bindings: dict, provider_models: list, arms: list[dict],
                      samples: int = 1) -> dict:
    """Requests, estimated input tokens and cost per model and arm, from the first PREFLIGHT_SAMPLE
    cases rendered exactly as they will be sent, scaled to the set; refusals per model with reasons."""
    n_cases = EvalCase.objects.filter(set=eval_set).count()
    cases = _cases_with_media(eval_set, limit=PREFLIGHT_SAMPLE)
    kinds = dict(prompt_slots(version)["media"])
    source = LibrarySource(team)
    source.prefetch([m.item_id for c in cases for m in c.ordered_media()])
    scale = (n_cases / len(cases)) if cases else 0
    rows = {}
    for arm in arms:
        for case in cases:
            values = case_values(case, bindings, media_by_slot(case))
            content = arm_content(version.content, arm, values, kinds)
            checks = runs_services.preflight(version=version, values=values, provider_models=provider_models, team=team,
                                             content=content, source=source)  # fmt: skip
            for check in checks:
                pm = check.provider_model
                row = rows.setdefault((pm.pk, arm["key"]), {
                    "model": pm, "arm": arm, "sampled": 0, "ok": 0, "tokens": 0, "cost": Decimal(0),
                    "cost_known": True, "reasons": {},
                })  # fmt: skip
                row["sampled"] += 1
                if check.ok:
                    row["ok"] += 1
                    row["tokens"] += check.tokens.total if check.tokens and check.tokens.total else 0
                    if check.estimated_cost is None:
                        row["cost_known"] = False
                    else:
                        row["cost"] += check.estimated_cost
                else:
                    for reason in [*check.reasons, *([check.key_problem] if check.key_problem else [])]:
                        row["reasons"][reason] = row["reasons"].get(reason, 0) + 1
    out, total_requests, total_cost = [], 0, Decimal(0)
    for row in rows.values():
        requests = round(row["ok"] * scale) * samples
        row["requests"] = requests
        row["refused"] = round((row["sampled"] - row["ok"]) * scale) * samples
        row["tokens_est"] = round(row["tokens"] * scale * samples)
        row["cost_est"] = (row["cost"] * Decimal(scale) * samples).quantize(Decimal("0.0001")) if row["cost_known"] else None
        row["reasons"] = sorted(row["reasons"].items(), key=lambda kv: -kv[1])
        total_requests += requests
        total_cost += row["cost_est"] or 0
        out.append(row)
    return {"rows": out, "cases": n_cases, "sampled": len(cases), "scaled": len(cases) < n_cases,
            "requests": total_requests, "all_requests": n_cases * len(arms) * samples * len(provider_models),
            "cost": total_cost.quantize(Decimal("0.0001"))}  # fmt: skip


# --- starting, progress, stopping ----------------------------------------------------------------


def results_of(er):
    return Result.objects.filter(run__eval_item__eval_run=er)


def progress(er) -> dict:
    """Prepared cases and the results by status, cost so far (one aggregate)."""
    S = Result.Status
    agg = results_of(er).aggregate(
        total=Count("pk"),
        succeeded=Count("pk", filter=Q(status=S.SUCCEEDED)),
        failed=Count("pk", filter=Q(status=S.FAILED)),
        refused=Count("pk", filter=Q(status=S.REFUSED)),
        cancelled=Count("pk", filter=Q(status=S.CANCELLED)),
        running=Count("pk", filter=Q(status=S.RUNNING)),
        queued=Count("pk", filter=Q(status=S.QUEUED)),
        reused=Count("pk", filter=Q(reused_from__isnull=False)),
        cost=Sum("cost_usd"),
    )  # fmt: skip
    n_cases = er.eval_set.cases.count()
    finished = agg["succeeded"] + agg["failed"] + agg["refused"] + agg["cancelled"]
    expected = max(er.total_requests, agg["total"])
    return {
        **agg, "cost": agg["cost"] or Decimal(0), "cases": n_cases, "prepared_cases": min(er.prepared_cases, n_cases),
        "finished": finished, "expected": expected,
        "percent": round(100 * finished / expected) if expected else 100,
        "active": er.is_active,
    }  # fmt: skip


def cost_so_far(er) -> Decimal:
    return results_of(er).aggregate(c=Sum("cost_usd"))["c"] or Decimal(0)


def _set_status(er, status: str, message: str = "", *, only_from=EvalRun.ACTIVE) -> bool:
    """Move to ``status`` if still in one of ``only_from`` (one UPDATE: two workers never both win)."""
    changed = EvalRun.objects.filter(pk=er.pk, status__in=only_from).update(
        status=status, status_message=message, finished_at=timezone.now()
    )
    er.refresh_from_db(fields=["status", "status_message", "finished_at"])
    return bool(changed)


def run_ids(er) -> list[int]:
    return list(EvalItem.objects.filter(eval_run=er, run__isnull=False).values_list("run_id", flat=True))


def cancel(er) -> int:
    """Stop preparing (the task sees the status) and cancel every result not answered yet."""
    if not _set_status(er, EvalRun.Status.CANCELLED, "Cancelled."):
        return 0
    return runs_services.cancel_runs(run_ids(er))


def stop_for_budget(er, spent: Decimal) -> bool:
    """Budget reached: status "stopped"; results not yet sent are cancelled, the sent ones kept."""
    message = (f"Stopped: the budget of {er.budget_usd} USD was reached ({spent:.4f} USD recorded). "
               "Requests not yet sent were cancelled; every answer received is kept.")  # fmt: skip
    if not _set_status(er, EvalRun.Status.STOPPED, message):
        return False
    runs_services.cancel_runs(run_ids(er), unsent_only=True)
    return True


def finish_if_complete(er) -> bool:
    """DONE once preparing is over and no result is left queued or running."""
    if er.status != EvalRun.Status.RUNNING:
        return False
    if results_of(er).filter(status__in=(Result.Status.QUEUED, Result.Status.RUNNING)).exists():
        return False
    return _set_status(er, EvalRun.Status.DONE, only_from=(EvalRun.Status.RUNNING,))


def check_budget(er) -> bool:
    """Stop the run if its recorded cost reached the budget; True when it stopped now."""
    if er.budget_usd is None or not er.is_active:
        return False
    spent = cost_so_far(er)
    if spent >= er.budget_usd:
        return stop_for_budget(er, spent)
    return False
