"""Providers and their models: what views, runs and tests call.

    models = provider_models_for(team)           # the run picker: enabled models, grouped by provider
    provider = apply_preset(team=team, key="anthropic", api_key="sk-ant-…")
    key_status(provider).text                    # "stored, set 2026-11-21"

A key only ever goes in (Provider.set_api_key) or out to the sender (Provider.api_key()).
Functions that hold one in a local variable are marked @sensitive_variables, so Django's error
reports show stars instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from playground.accounts.models import Team
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
