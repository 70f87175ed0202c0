"""The models a preview column can show (playground/prompts/columns.py), from the catalog: the
team's enabled models first, then every preset model, each as the protocols.Target a run would
use (:func:`target_for`) with its prices.

Registered in CatalogConfig.ready, so prompts (below catalog) never imports catalog.
"""

from __future__ import annotations

from dataclasses import replace

from playground.catalog import presets
from playground.catalog.models import Provider, ProviderModel
from playground.catalog.services import key_status, provider_models_for
from playground.prompts.columns import ColumnChoice, column_key
from playground.protocols import Target

__all__ = ["choices", "preset_choices", "target_for"]


def target_for(pm: ProviderModel) -> Target:
    """The protocols.Target for a catalog model: its protocol, base URL, version, capabilities."""
    provider = pm.provider
    return Target(
        provider.render_protocol,
        pm.name,
        base_url=provider.base_url or None,
        api_version=provider.api_version or None,
        gateway=bool(provider.gateway_extensions) and provider.render_protocol == "chat",
        inputs=frozenset(pm.inputs or ()),
        api_key_env=(provider.api_key_env or None) if provider.key_source == Provider.KeySource.ENV else None,
        image_formats=frozenset(pm.image_formats) if pm.image_formats else None,
        max_image_edge=pm.max_image_edge,
        max_images=pm.max_images,
        accepts_urls=pm.accepts_urls,
        label=f"{pm.label or pm.name} ({provider.name})",
    )


def _configured(team) -> list[ColumnChoice]:
    out = []
    for pm in provider_models_for(team):
        target = target_for(pm)
        key = key_status(pm.provider)  # how the key is found, never the key (nothing is decrypted)
        notice = "" if key.ok else (f"{pm.provider.name}'s key: {key.text}. A run of this model is refused until "
                                    "it has one: set it on the provider's page.")
        out.append(ColumnChoice(f"pm:{pm.pk}", column_key(target), target, True, pm.cost, notice))
    return out


def preset_choices() -> list[ColumnChoice]:
    """Every preset model, as a provider made from its preset would have it (nothing is saved).
    The snippets name the preset's key variable (e.g. $OPENROUTER_API_KEY)."""
    out = []
    for preset in presets.PRESETS.values():
        provider = Provider(**preset.provider_fields(), preset=preset.key)
        for m in preset.models:
            pm = ProviderModel(provider=provider, **m.fields())
            target = target_for(pm)
            if preset.api_key_env:
                target = replace(target, api_key_env=preset.api_key_env)
            out.append(ColumnChoice(f"preset:{preset.key}:{m.name}", column_key(target), target, False, pm.cost))
    return out


_PRESETS: list[ColumnChoice] = []


def choices(team) -> list[ColumnChoice]:
    """The team's enabled models (none without a team), then the presets."""
    if not _PRESETS:
        _PRESETS.extend(preset_choices())
    return (_configured(team) if team is not None else []) + list(_PRESETS)
