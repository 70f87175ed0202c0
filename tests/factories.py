"""Plain factory functions for tests, the one home of every `make_*` helper: each fills in
sensible defaults, so a test names only what it is about.

People: make_user, make_team, make_member. Media: make_item (any bytes), make_png, make_wav.
Prompts: doc_with (a normalized prompt document), make_prompt, make_version. Catalog:
make_provider (aimed at the fake provider of tests/provider_server.py, or at any base URL),
make_model, model_for (a provider and one model on it). The matching fixtures (owner,
owner_client, png, wav, ...) are in tests/conftest.py.
"""

import itertools
import tempfile
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model

from playground.accounts.models import Membership, Team
from playground.catalog.models import Provider, ProviderModel
from playground.prompts.document import normalize
from playground.prompts.models import Prompt, PromptVersion
from tests import media_samples as samples
from tests.provider_server import DEFAULT_KEY, ProviderServer

_counter = itertools.count(1)

ALL_KINDS = ["image", "audio", "video", "pdf"]
PROTOCOL_MODELS = {"chat": "gpt-4o", "responses": "gpt-4.1", "messages": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}


# --- people and teams ---------------------------------------------------------------------------


def make_user(**kw):
    kw.setdefault("username", f"user{next(_counter)}")
    kw.setdefault("password", "secret-pass-123")
    user = get_user_model().objects.create_user(**kw)
    user.raw_password = kw["password"]  # for tests that log in through the form
    return user


def make_team(**kw) -> Team:
    kw.setdefault("name", f"Team {next(_counter)}")
    return Team.objects.create(**kw)


def make_member(team: Team | None = None, role: str = Membership.Role.EDITOR, **kw):
    team = team or make_team()
    user = make_user(**kw)
    team.add_member(user, role)
    return user


# --- media ---------------------------------------------------------------------------------------


def logged_in(user):
    """A Django test client signed in as ``user``."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def make_item(team: Team, data: bytes, name: str = "sample.bin", user=None):
    from playground.uploads import services

    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(data)
        tmp.flush()
        return services.add_path(team=team, user=user, path=Path(tmp.name), name=name).item


def make_png(team: Team, name: str = "photo.png", *, width: int = 64, height: int = 48, user=None):
    """A small PNG in the team's library (the `png` fixture is one of these)."""
    return make_item(team, samples.png_bytes(width, height), name, user)


def make_wav(team: Team, name: str = "tone.wav", *, seconds: float = 1.0, user=None):
    """A short WAV in the team's library (the `wav` fixture is one of these)."""
    return make_item(team, samples.wav_bytes(seconds=seconds), name, user)


# --- prompts -------------------------------------------------------------------------------------


def doc_with(*parts, variables=None, system="Be brief.", options=None, name="Caption") -> dict:
    """A normalized prompt document: one user message made of `parts`."""
    return normalize({"name": name, "system": system, "messages": [{"role": "user", "parts": list(parts)}],
                      "variables": variables or {}, "options": options or {}})


def make_prompt(team: Team, name: str | None = None, *, user=None, doc: dict | None = None, media_items=()) -> Prompt:
    """A prompt of `team` (named after `doc` when there is one), with `doc` saved as version 1 if given."""
    name = name or (doc or {}).get("name") or "Caption"
    prompt = Prompt.objects.create(team=team, name=name, created_by=user)
    if doc is not None:
        prompt.save_version(doc, media_items=media_items, user=user)
    return prompt


def make_version(team: Team, doc: dict, user=None, *, media_items=()) -> PromptVersion:
    """A new prompt with `doc` as its only version; returns the version."""
    prompt = make_prompt(team, doc.get("name"), user=user)
    return prompt.save_version(doc, media_items=media_items, user=user)


# --- the catalog ---------------------------------------------------------------------------------


def make_provider(team: Team, server: ProviderServer | None = None, protocol: str = "chat", *, name: str | None = None,
                  base_url: str | None = None, key: str | None = None, **kw) -> Provider:
    """A provider of `team`. Aimed at the fake provider `server` (the render protocol's URL) with the
    server's key unless `key` says otherwise; without a server at `base_url` (a placeholder by
    default) with no key unless `key` is given. `key_source` in kw (env, none) stores no key."""
    if server is not None:
        base_url = base_url or server.base_url_for("chat" if protocol == "compatible" else protocol)
        key = DEFAULT_KEY if key is None else key
    provider = Provider(team=team, name=name or f"Fake {protocol}", protocol=protocol,
                        base_url=base_url or "https://x.example/v1", **kw)
    if key is not None and "key_source" not in kw:
        provider.set_api_key(key)
    provider.save()
    return provider


def make_model(provider: Provider, name: str = "gpt-4o", *, inputs=None, prices=True, **kw) -> ProviderModel:
    """A model on `provider` taking every kind of input unless `inputs` says, priced unless prices=False."""
    if prices:
        kw.setdefault("price_input_per_mtok", Decimal("2.50"))
        kw.setdefault("price_cached_input_per_mtok", Decimal("1.25"))
        kw.setdefault("price_output_per_mtok", Decimal("10.00"))
    return ProviderModel.objects.create(provider=provider, name=name, inputs=ALL_KINDS if inputs is None else inputs, **kw)


def model_for(team: Team, server: ProviderServer, protocol: str, name: str | None = None, *, provider_kw=None,
              **kw) -> ProviderModel:
    """A provider of its own on the fake server and one model on it (the protocol's usual model by default)."""
    provider = make_provider(team, server, protocol, **(provider_kw or {}))
    return make_model(provider, name or PROTOCOL_MODELS.get(protocol, "gpt-4o"), **kw)


# --- invites (teams) -----------------------------------------------------------------------------


def make_invite(team: Team, by=None, role: str = Membership.Role.VIEWER, *, max_uses: int = 1, days: int = 7):
    """An invite to `team` made by its owner `by` (a new owner if None); returns (invite, token)."""
    from playground.accounts import services

    by = by or make_member(team, Membership.Role.OWNER)
    return services.create_invite(team=team, actor=by, role=role, max_uses=max_uses, days=days)


# --- share links ---------------------------------------------------------------------------------


def make_share_link(prompt: Prompt, *, version: PromptVersion | None = None, runs=(), user=None, expires: str = ""):
    """A share link to `prompt` (always the latest unless `version`); returns (link, token)."""
    from playground.sharing import services

    return services.create_link(prompt=prompt, version=version, runs=runs, user=user, expires=expires)


# --- evaluation sets -------------------------------------------------------------------------------


def make_eval_set(team: Team, name: str = "Shapes", *, user=None, expected_kind: str = "text", labels=None):
    """An evaluation set of `team` (no cases; see make_eval_case)."""
    from playground.evals import services

    return services.create_set(team=team, user=user, name=name, expected_kind=expected_kind, labels=labels or [])


def make_eval_case(eval_set, items, *, expected=None, kind: str = "", fields=None, tags=None):
    """A case of `eval_set` holding the library `items` (one or a list)."""
    from playground.evals import services

    items = items if isinstance(items, list) else [items]
    return services.add_cases(eval_set, [{"items": items, "expected": expected, "expected_kind": kind,
                                          "fields": fields or {}, "tags": tags or []}])[0]


# --- evaluation runs' results (rows made directly, nothing sent) ------------------------------------


def make_eval_run(team: Team, eval_set, version: PromptVersion, models, *, arms=None, scorers=None, user=None,
                  status: str = "done", name: str = ""):
    """An evaluation run of `eval_set` over `models` (in order), done, with no items yet (make_eval_answer)."""
    from playground.evalruns.models import EvalRun, EvalRunModel

    eval_run = EvalRun.objects.create(team=team, eval_set=eval_set, prompt_version=version, name=name, created_by=user,
                                      status=status, arms=arms or [{"key": "as-is", "title": "As uploaded", "settings": {}}],
                                      scorers=scorers or [{"name": "exact", "config": {}}])
    for position, model in enumerate(models):
        EvalRunModel.objects.create(eval_run=eval_run, provider_model=model, position=position)
    return eval_run


def make_eval_answer(eval_run, case, model, output: str = "", *, arm: str = "as-is", sample: int = 0,
                     status: str = "succeeded", cost=None, latency_ms=None, tokens=(None, None), scores=None,
                     reused_from=None):
    """One model's answer to one case (its EvalItem and Run made when missing), and its scores:
    scores = {scorer key: (value, passed)} or (value, passed, explanation, details)."""
    from playground.evalruns.models import EvalItem, EvalScore
    from playground.runs.models import Result, Run

    item, _ = EvalItem.objects.get_or_create(eval_run=eval_run, case=case, arm=arm, sample=sample)
    if item.run_id is None:
        item.run = Run.objects.create(team=eval_run.team, prompt_version=eval_run.prompt_version, status="done",
                                      origin="eval")
        item.save(update_fields=["run"])
    result = Result.objects.create(
        run=item.run, position=item.run.results.count(), provider_model=model, provider_name=model.provider.name,
        protocol=model.provider.protocol, model_name=model.name, url="https://x.example/v1", status=status,
        output_text=output, cost_usd=None if cost is None else Decimal(str(cost)), latency_total_ms=latency_ms,
        input_tokens=tokens[0], output_tokens=tokens[1], reused_from=reused_from)
    for key, score in (scores or {}).items():
        value, passed, explanation, details = (tuple(score) + ("", {}))[:4]
        EvalScore.objects.create(eval_run=eval_run, result=result, case=case, scorer=key, value=value, passed=passed,
                                 explanation=explanation, details=details)
    return result


def make_review(result, reviewer, *, verdict=None, rating=None, comment: str = "", blind: bool = False):
    from playground.evalruns.models import Review

    item = result.run.eval_item
    return Review.objects.create(result=result, eval_run=item.eval_run, case=item.case, reviewer=reviewer,
                                 verdict=verdict, rating=rating, comment=comment, blind=blind)
