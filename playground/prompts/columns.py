"""What each preview column can be: a protocol *and* a model, with that model's capabilities,
limits and prices.

    choices = choices_for(team)                 # every model a column may preview, grouped by column key
    picked = pick(settings, choices)            # one ColumnChoice per column the settings show

prompts sits below catalog in the layering (accounts < uploads < prompts < catalog < runs), so it
cannot read the team's configured models itself. catalog registers instead, in its AppConfig.ready,
a function giving the choices for a team (its enabled models first, then the presets); see
playground/catalog/columns.py. This module only keeps the registry and picks among the choices.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from playground.protocols import Target

__all__ = ["ColumnChoice", "choices_for", "column_key", "default_choice", "pick", "register", "registered"]


def column_key(target: Target) -> str:
    """The preview column a target belongs in: its protocol, or "gateway" for Chat via a gateway."""
    return "gateway" if target.gateway and target.protocol == "chat" else target.protocol


@dataclass(frozen=True)
class ColumnChoice:
    """One model a preview column can show: ``id`` is what the settings store ("pm:12" for a
    configured model, "preset:anthropic:claude-sonnet-4-6" for a preset), ``column`` the column
    key (chat, responses, messages, gemini, gateway)."""

    id: str
    column: str
    target: Target
    configured: bool  # one of the team's own models: a run sends exactly what the column shows
    # USD for a request from its usage (ProviderModel.cost's keywords), or None when unpriced.
    cost: Callable[..., Decimal | None] | None = field(default=None, compare=False, repr=False)
    # What stops a run of this model that the body does not show (no key yet), in words, or "".
    notice: str = ""

    @property
    def label(self) -> str:
        return self.target.label or self.target.model or "(no model)"

    @property
    def group(self) -> str:
        return "Your models" if self.configured else "Presets"


# name (who registers; registering twice replaces) -> team (or None: presets only) -> choices
_SOURCES: dict[str, Callable[[object | None], list[ColumnChoice]]] = {}


def register(name: str, fn: Callable[[object | None], list[ColumnChoice]]) -> None:
    _SOURCES[name] = fn


def registered() -> list[str]:
    return sorted(_SOURCES)


def choices_for(team) -> list[ColumnChoice]:
    """Every registered source's choices for ``team`` (None: no team, the presets only), in order."""
    out: list[ColumnChoice] = []
    for name in sorted(_SOURCES):
        out += _SOURCES[name](team)
    return out


def default_choice(column: str, choices: list[ColumnChoice]) -> ColumnChoice | None:
    """The team's configured model for this column that takes the most kinds of media (the first of
    those listed), else the first preset (the presets list their flagship first), else None. Why
    the most kinds: the team's models are in name order, and a team with OpenAI's preset got
    gpt-4o-audio-preview (audio only) as its Chat column, refusing every image; a general model
    is what a new prompt is most likely meant for."""
    mine = [c for c in choices if c.column == column]
    configured = [c for c in mine if c.configured]
    if not configured:
        return next(iter(mine), None)
    widest = max(_kinds(c) for c in configured)
    return next(c for c in configured if _kinds(c) == widest)


def _kinds(choice: ColumnChoice) -> int:
    inputs = choice.target.inputs
    return 4 if inputs is None else len(inputs)  # None: whatever the protocol carries


def pick(settings: dict, choices: list[ColumnChoice]) -> list[ColumnChoice]:
    """The choice of each column in ``settings["columns"]``: the one whose id ``model_<key>`` holds,
    or the column's default when it holds nothing known (blank, a model of another team, an older
    draft's free model name). Preview-only settings (anthropic-version, Chat system role, clamping)
    apply to presets only: a configured model's column shows what a run sends, and a run uses the
    provider's own settings (catalog/columns.py target_for)."""
    by_id = {c.id: c for c in choices}
    out = []
    for key in settings["columns"]:
        chosen = by_id.get(settings.get(f"model_{key}") or "")
        if chosen is None or chosen.column != key:
            chosen = default_choice(key, choices)
        if chosen is None:
            continue
        if not chosen.configured:
            chosen = dataclasses.replace(chosen, target=_with_preview_settings(chosen.target, settings))
        out.append(chosen)
    return out


def _with_preview_settings(target: Target, settings: dict) -> Target:
    changes: dict = {"clamp_temperature": bool(settings.get("clamp_temperature"))}
    if target.protocol == "chat":
        changes["system_role"] = settings.get("system_role") or "system"
    if target.protocol == "messages" and settings.get("anthropic_version"):
        changes["api_version"] = settings["anthropic_version"]
    return dataclasses.replace(target, **changes)
