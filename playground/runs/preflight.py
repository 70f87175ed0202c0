"""Before a run: per chosen model, the exact request that will go out and whether it can.

    checks = preflight(version=v, values={"city": "Lyon"}, provider_models=[pm1, pm2], team=team)
    for c in checks:
        c.ok, c.rendered.display(), c.tokens.total, c.estimated_cost, c.reasons, c.applied, c.key_problem

The model's capabilities decide, not just its protocol: catalog/columns.py ``target_for`` makes
the Target from the ProviderModel (inputs, image formats, limits). The prompt is fitted to it by
prompts/fitting.py, the same code the preview column of that model uses, so a run sends exactly
what the column showed: refused parts with a variant or key-frames fallback get it automatically,
each listed in ``applied`` and logged as "changed: …"; a clear refusal remains only where no such
fallback exists (audio to Anthropic, media in a system prompt, a temperature out of range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from playground.catalog import secrets
from playground.catalog.columns import target_for
from playground.catalog.models import Provider, ProviderModel
from playground.prompts.document import is_placeholder_problem
from playground.prompts.fitting import fit, sent_media
from playground.prompts.library_source import LibrarySource
from playground.protocols import RenderedRequest, Target, TokenEstimate, estimate_tokens

__all__ = ["Preflight", "check_one", "key_problem", "preflight", "target_for"]


@dataclass
class Preflight:
    provider_model: ProviderModel
    target: Target
    rendered: RenderedRequest | None
    tokens: TokenEstimate | None
    estimated_cost: Decimal | None  # input tokens (and per-item prices) at the model's prices
    ok: bool
    reasons: list[str] = field(default_factory=list)  # why it will not be sent
    applied: list[str] = field(default_factory=list)  # fallbacks applied, in words
    key_problem: str | None = None
    # For start_run: what to log about the request.
    notes: list[str] = field(default_factory=list)
    sent_media: dict = field(default_factory=dict)
    max_cost: Decimal | None = None  # with the output at its max_tokens cap, when one is set


def key_problem(provider: Provider, url: str | None = None) -> str | None:
    """What stops a call to ``url`` (default: the base URL) for want of a key, in words (never
    the key), or None. An environment variable that is not granted reads the same whether it
    exists or not (env_keys.py)."""
    if provider.key_source == Provider.KeySource.NONE:
        return None
    if provider.key_source == Provider.KeySource.STORED and not provider.api_key_encrypted:
        return f"No API key for {provider.name}: enter a key on the provider's page."
    try:
        provider.api_key(url)  # checks the grant or the stored key's server, and decryption; the value is dropped
    except secrets.KeyUnavailable as exc:
        return str(exc)
    return None


def check_one(pm: ProviderModel, *, content: dict, values: dict, source) -> Preflight:
    """The preflight of one model (see the module docstring)."""
    target = target_for(pm)
    fitted = fit(content, values, source, target)
    built, rendered = fitted.built, fitted.rendered
    applied = [c.text for c in fitted.changes]

    reasons = [i.message for i in built.issues]
    reasons += [r.reason for r in rendered.refusals]
    reasons += [p.message for p in rendered.problems if p.level == "error" and not is_placeholder_problem(p)]
    media = sent_media(rendered)
    problem = key_problem(pm.provider, rendered.url)
    tokens = estimate_tokens(rendered)
    cost = pm.cost(input_tokens=tokens.total, output_tokens=0, images=media["images"], audio_seconds=media["audio_s"])
    cap = built.prompt.options.max_tokens or (target.default_max_tokens if target.protocol == "messages" else None)
    max_cost = (pm.cost(input_tokens=tokens.total, output_tokens=cap, images=media["images"],
                        audio_seconds=media["audio_s"]) if cap else None)  # fmt: skip
    # The run page logs each change in the words the preview column shows ("changed: …").
    notes = [f"changed: {a}" for a in applied] + [f"{n.where}: {n.message}" for n in rendered.notes]
    return Preflight(
        provider_model=pm,
        target=target,
        rendered=rendered,
        tokens=tokens,
        estimated_cost=cost,
        ok=not reasons and problem is None,
        reasons=reasons,
        applied=applied,
        key_problem=problem,
        notes=notes,
        sent_media=media,
        max_cost=max_cost,
    )


def _models(provider_models) -> list[ProviderModel]:
    ids = [pm if isinstance(pm, int) else pm.pk for pm in provider_models]
    found = {pm.pk: pm for pm in ProviderModel.objects.filter(pk__in=ids).select_related("provider")}
    out = []
    for given in provider_models:
        pk = given if isinstance(given, int) else given.pk
        if pk in found:
            out.append(found[pk])
    return out


def preflight(*, version, values: dict, provider_models: list, team, content: dict | None = None,
              source=None) -> list[Preflight]:
    """One Preflight per model, in the order given (models of other teams are left out).
    ``content``: a document to send instead of the version's (e.g. an evaluation arm's media
    settings applied to it); the version itself is not changed. ``source``: a LibrarySource to
    share between calls (its items are fetched once)."""
    source = source or LibrarySource(team)
    models = [pm for pm in _models(provider_models) if pm.provider.team_id == team.pk]
    doc = version.content if content is None else content
    return [check_one(pm, content=doc, values=values, source=source) for pm in models]
