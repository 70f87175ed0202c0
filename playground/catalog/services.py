"""Providers and their models: what views, runs and tests call.

    models = provider_models_for(team)           # the run picker: enabled models, grouped by provider
    provider = apply_preset(team=team, key="anthropic", api_key="sk-ant-…")
    key_status(provider).text                    # "stored, set 2026-11-21"

A key only ever goes in (Provider.set_api_key) or out to the sender (Provider.api_key()).
Functions that hold one in a local variable are marked @sensitive_variables, so Django's error
reports show stars instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from playground.accounts import audit
from playground.accounts.models import AuditEvent, Team
from playground.catalog import env_keys, presets, secrets
from playground.catalog.models import Provider, ProviderModel


def provider_models_for(team: Team) -> list[ProviderModel]:
    """The team's enabled models, provider by provider (name order), for choosing where to run.

    Each model has its provider loaded (``model.provider``), so grouping in a template is
    ``{% regroup models by provider as groups %}``.
    """
    return list(
        ProviderModel.objects.filter(provider__team=team, enabled=True)
        .select_related("provider__team")  # the team: an environment key's grant is per team
        .order_by("provider__name", "provider_id", "label", "name")
    )


@dataclass(frozen=True)
class KeyStatus:
    text: str  # "stored, set 2026-11-21", "from $OPENAI_API_KEY: missing", "no key"
    ok: bool  # a request can be sent as far as the key goes


def key_status(provider: Provider) -> KeyStatus:
    """How the provider's key is found, for people: never the key itself, nor any part of it."""
    if provider.key_source == Provider.KeySource.NONE:
        return KeyStatus("no key needed", True)
    if provider.key_source == Provider.KeySource.ENV:
        # "not granted" whether or not such a variable exists: nothing about the environment shows.
        state = env_keys.state(provider.api_key_env, provider.team, urlsplit(provider.base_url).hostname)
        text = {env_keys.NOT_GRANTED: "not granted to your team by the operator",
                env_keys.WRONG_HOST: "not granted for this host"}.get(state, state)
        return KeyStatus(f"from ${provider.api_key_env or '?'}: {text}", state == env_keys.SET)
    if not provider.api_key_encrypted:
        return KeyStatus("no key", False)
    when = f", set {provider.key_updated_at:%Y-%m-%d}" if provider.key_updated_at else ""
    return KeyStatus(f"stored{when}", True)


@sensitive_variables("api_key")
@transaction.atomic
def apply_preset(*, team: Team, key: str, name: str | None = None, api_key: str = "",
                 model_names: list[str] | None = None) -> Provider:
    """Create a provider and its models from presets.PRESETS[key] (all its models by default)."""
    preset = presets.PRESETS[key]
    provider = Provider(team=team, preset=preset.key, **{**preset.provider_fields(), "name": name or preset.name})
    if api_key:
        provider.key_source = Provider.KeySource.STORED
        provider.set_api_key(api_key)
    provider.full_clean(exclude=["team"])
    provider.save()
    add_preset_models(provider, preset, model_names)
    return provider


def add_preset_models(provider: Provider, preset: presets.ProviderPreset,
                      names: list[str] | None = None) -> list[ProviderModel]:
    """Add the preset's models (or those named) that the provider does not have yet."""
    existing = set(provider.models.values_list("name", flat=True))
    chosen = [m for m in preset.models if (names is None or m.name in names) and m.name not in existing]
    return ProviderModel.objects.bulk_create([ProviderModel(provider=provider, **m.fields()) for m in chosen])


# A model id from a provider's list, as the add-model form takes one: no spaces or control characters, <= 200.
MODEL_NAME = re.compile(r"[^\s\x00-\x1f\x7f]{1,200}")


def known_presets(provider: Provider) -> dict[str, presets.ModelPreset]:
    """Model presets by name: the provider's own preset first, then every preset of its protocol."""
    known: dict[str, presets.ModelPreset] = {}
    own = presets.PRESETS.get(provider.preset)
    for preset in ([own] if own else []) + [p for p in presets.PRESETS.values() if p is not own]:
        if preset is own or preset.protocol == provider.protocol:
            for m in preset.models:
                known.setdefault(m.name, m)
    return known


def add_listed_models(provider: Provider, chosen: list[tuple[str, str]]) -> list[ProviderModel]:
    """Add the (name, label) pairs ticked from the provider's own model list (probe.list_models)
    that it does not have yet. A name a preset knows gets the preset's capabilities and prices
    (what the protocol cannot carry left out); any other gets the add-model form's defaults."""
    existing = set(provider.models.values_list("name", flat=True))
    known = known_presets(provider)
    carried = presets.kinds_for(provider.protocol, provider.gateway_extensions)
    formats = set(presets.PROTOCOL_IMAGE_FORMATS[provider.protocol])
    made, seen = [], set()
    for name, label in chosen:
        if name in existing or name in seen or not MODEL_NAME.fullmatch(name):
            continue
        seen.add(name)
        preset = known.get(name)
        fields = preset.fields() if preset else {"name": name}
        fields["inputs"] = [k for k in fields.get("inputs", []) if k in carried]
        fields["image_formats"] = [f for f in fields.get("image_formats", []) if f in formats] if "image" in fields["inputs"] else []
        if not fields.get("label"):
            fields["label"] = (label or "")[:200]
        made.append(ProviderModel(provider=provider, **fields))
    return ProviderModel.objects.bulk_create(made)


@sensitive_variables()
def reencrypt_stored_keys() -> int:
    """Encrypt every stored key again under the newest PRISM_ENCRYPTION_KEY; returns how many.

    Rotation: set PRISM_ENCRYPTION_KEY="new,old", call this, then drop the old key. A key that
    decrypts under none of the keys is left as it is (its provider reports it on the next run).
    """
    count = 0
    for provider in Provider.objects.exclude(api_key_encrypted="").only("pk", "api_key_encrypted"):
        try:
            token = secrets.encrypt(secrets.decrypt(provider.api_key_encrypted))
        except secrets.KeyUnavailable:
            continue
        Provider.objects.filter(pk=provider.pk).update(api_key_encrypted=token)
        count += 1
    return count


# --- the audit list (accounts/audit.py): what changed, never a key or any part of one -------------


def audit_provider_saved(provider: Provider, actor, *, created: bool, changed: list[str], had_key: bool,
                         typed_key: bool) -> None:
    """Record a provider created or changed, and what happened to its stored key (set, replaced,
    removed): whether, never what."""
    action = AuditEvent.Action
    who = actor.get_username()
    if created:
        audit.record(provider.team, actor, action.PROVIDER_CREATED, f"{who} added the provider {provider.name} "
                     f"({provider.get_protocol_display()}, {urlsplit(provider.base_url).netloc}).",
                     provider=provider.pk, name=provider.name)
    else:
        fields = [name for name in changed if name not in ("api_key", "remove_key")]
        if fields:
            labels = ", ".join(_FIELD_LABELS.get(name, name.replace("_", " ")) for name in fields)
            audit.record(provider.team, actor, action.PROVIDER_CHANGED, f"{who} changed {labels} of {provider.name}.",
                         provider=provider.pk, name=provider.name, fields=fields)
    has_key = bool(provider.api_key_encrypted)
    if typed_key:
        kind, verb = (action.KEY_REPLACED, "replaced") if had_key else (action.KEY_SET, "set")
        audit.record(provider.team, actor, kind, f"{who} {verb} the stored key of {provider.name}.",
                     provider=provider.pk, name=provider.name)
    elif had_key and not has_key:
        audit.record(provider.team, actor, action.KEY_REMOVED, f"{who} removed the stored key of {provider.name}.",
                     provider=provider.pk, name=provider.name)


_FIELD_LABELS = {"base_url": "the base URL", "api_version": "the API version", "key_source": "the key source",
                 "api_key_env": "the environment variable", "max_concurrency": "requests in flight",
                 "timeout_s": "the timeout", "gateway_extensions": "gateway extensions"}


def audit_provider_deleted(provider: Provider, actor) -> None:
    audit.record(provider.team, actor, AuditEvent.Action.PROVIDER_DELETED,
                 f"{actor.get_username()} deleted the provider {provider.name} and its models.", name=provider.name)


def audit_models(provider: Provider, actor, action: str, verb: str, names: list[str], fields: list[str] = ()) -> None:
    """Models added, changed (fields named) or removed."""
    if not names:
        return
    what = ", ".join(names)
    detail = f" ({', '.join(f.replace('_', ' ') for f in fields)})" if fields else ""
    audit.record(provider.team, actor, action, f"{actor.get_username()} {verb} {what}{detail} on {provider.name}.",
                 provider=provider.pk, models=names, **({"fields": list(fields)} if fields else {}))
