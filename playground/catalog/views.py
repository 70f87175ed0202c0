"""Providers and models, per team: owners manage them, editors and viewers read them.

Another team's provider is a 404, a member without the owner role gets a 403 on any change.
The views that receive a key are wrapped in sensitive_post_parameters and sensitive_variables,
so Django's error reports (DEBUG off) show stars where the key was; the key is never put into
a page, a message or a log line.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import FieldError, PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from playground.accounts.models import AuditEvent, Membership
from playground.accounts.teams import current_membership, current_team, require_membership
from playground.catalog import presets, probe, services
from playground.catalog.forms import (
    API_VERSION_SUGGESTIONS,
    PresetModelsForm,
    ProviderForm,
    ProviderModelForm,
    plain_decimal,
)
from playground.catalog.models import Provider, ProviderModel

OWNERS_ONLY = "Only team owners add, change or remove providers and models."
# The protocols' full names are long for a table column.
SHORT_PROTOCOL = {"chat": "Chat Completions", "responses": "Responses", "messages": "Anthropic Messages",
                  "gemini": "Gemini", "compatible": "OpenAI-compatible"}


def _get_provider(request, provider_id: int, *, manage: bool = False) -> tuple[Provider, Membership]:
    """The provider and the user's membership of its team; 404 for another team's provider,
    403 for a change by someone who is not an owner."""
    provider = get_object_or_404(Provider, pk=provider_id)
    membership = require_membership(request, provider.team_id)
    if manage and membership.role != Membership.Role.OWNER:
        raise PermissionDenied(OWNERS_ONLY)
    return provider, membership


def _get_model(request, model_id: int, *, manage: bool = False) -> tuple[ProviderModel, Membership]:
    model = get_object_or_404(ProviderModel.objects.select_related("provider"), pk=model_id)
    membership = require_membership(request, model.provider.team_id)
    if manage and membership.role != Membership.Role.OWNER:
        raise PermissionDenied(OWNERS_ONLY)
    return model, membership


def _require_owner_of_current_team(request):
    team = current_team(request)
    membership = current_membership(request)
    if membership.role != Membership.Role.OWNER:
        raise PermissionDenied(OWNERS_ONLY)
    return team, membership


def _is_owner(membership) -> bool:
    return bool(membership) and membership.role == Membership.Role.OWNER


# --- display helpers ---------------------------------------------------------------------------------


def usd(value) -> str:
    """$2.50, $0.075, $0.0000224: cents always, more digits only where the price has them."""
    plain = plain_decimal(value)
    return f"${plain:.2f}" if plain.as_tuple().exponent >= -2 else f"${plain}"


@dataclass
class ModelRow:
    """A ProviderModel as its table row shows it."""

    m: ProviderModel
    kinds: list[tuple[str, bool]]  # (kind, carried by the provider's protocol)
    formats: str
    limits: list[str]
    prices: list[str]
    priced: bool

    @classmethod
    def of(cls, model: ProviderModel, provider: Provider) -> ModelRow:
        carried = presets.kinds_for(provider.protocol, provider.gateway_extensions)
        kinds = [(kind, kind in carried) for kind in ("image", "audio", "video", "pdf") if kind in model.inputs]
        formats = ", ".join(f.split("/")[1].upper() for f in model.image_formats) if "image" in model.inputs else ""
        limits = []
        if model.max_image_edge:
            limits.append(f"≤ {model.max_image_edge} px")
        if model.max_images:
            limits.append(f"≤ {model.max_images} image{'s' if model.max_images != 1 else ''}")
        limits.append("URLs" if model.accepts_urls else "inline only")
        prices = []
        for field, suffix in (("price_input_per_mtok", "in"), ("price_cached_input_per_mtok", "cached"),
                              ("price_output_per_mtok", "out")):
            if (value := getattr(model, field)) is not None:
                prices.append(f"{usd(value)} {suffix}")
        if model.price_per_image is not None:
            prices.append(f"{usd(model.price_per_image)}/image")
        if model.price_per_audio_second is not None:
            prices.append(f"{usd(model.price_per_audio_second)}/audio s")
        priced = model.price_input_per_mtok is not None and model.price_output_per_mtok is not None
        return cls(model, kinds, formats, limits, prices, priced)


def _rows(provider: Provider) -> list[ModelRow]:
    return [ModelRow.of(m, provider) for m in provider.models.order_by("name")]


def _result_count(provider: Provider) -> int | None:
    """How many run results point at this provider's models (they keep their snapshots)."""
    try:
        return ProviderModel.objects.filter(provider=provider).aggregate(n=Count("result"))["n"]
    except FieldError:  # no runs app, or its relation was renamed
        return None


# --- providers -----------------------------------------------------------------------------------------


@require_GET
@never_cache
def provider_list(request):
    team = current_team(request)
    membership = current_membership(request)
    providers = list(Provider.objects.filter(team=team).select_related("team").annotate(model_count=Count("models"))
                     .order_by("name"))
    for provider in providers:
        provider.key_status = services.key_status(provider)
        provider.protocol_label = SHORT_PROTOCOL.get(provider.protocol, provider.get_protocol_display())
    return render(request, "catalog/list.html", {
        "providers": providers,
        "can_manage": _is_owner(membership),
        "presets": presets.PRESETS.values(),
        "prices_as_of": presets.PRICES_AS_OF,
    })


@sensitive_post_parameters("api_key")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
@never_cache
@transaction.atomic  # the change and its audit record together, or neither
def provider_create(request):
    team, membership = _require_owner_of_current_team(request)
    preset_key = request.POST.get("preset", "") if request.method == "POST" else request.GET.get("preset", "")
    preset = presets.PRESETS.get(preset_key)
    if preset_key and preset is None:
        raise Http404("No such preset")
    if request.method == "POST":
        form = ProviderForm(request.POST, team=team)
        models_form = PresetModelsForm(request.POST, preset=preset) if preset else None
        if form.is_valid() and (models_form is None or models_form.is_valid()):
            provider = form.save(commit=False)
            provider.preset = preset.key if preset else ""
            provider.save()
            added = []
            if preset:
                added = services.add_preset_models(provider, preset, models_form.cleaned_data["models"])
            services.audit_provider_saved(provider, request.user, created=True, changed=[], had_key=False,
                                          typed_key=bool(form.cleaned_data.get("api_key")))
            services.audit_models(provider, request.user, AuditEvent.Action.MODEL_ADDED, "added",
                                  [m.name for m in added])
            messages.success(request, f"Added {provider.name}" + (f" with {len(added)} model{'s' if len(added) != 1 else ''}." if preset else ". Add its models below."))
            return redirect("catalog:detail", provider.pk)
    else:
        initial = preset.provider_fields() if preset else {"key_source": Provider.KeySource.STORED}
        if preset and Provider.objects.filter(team=team, name__iexact=preset.name).exists():
            initial["name"] = f"{preset.name} 2"
        form = ProviderForm(initial=initial, team=team)
        models_form = PresetModelsForm(preset=preset) if preset else None
    return render(request, "catalog/provider_form.html", {
        "form": form,
        "models_form": models_form,
        "preset": preset,
        "presets": presets.PRESETS.values(),
        "provider": None,
        "api_versions": API_VERSION_SUGGESTIONS,
        "prices_as_of": presets.PRICES_AS_OF,
    })


@require_GET
@never_cache
def provider_detail(request, provider_id: int):
    provider, membership = _get_provider(request, provider_id)
    can_manage = _is_owner(membership)
    template = "catalog/detail.html"
    if request.htmx and request.htmx.target == "model-section":
        template += "#model-section"
    return render(request, template, _detail_context(provider, can_manage, ProviderModelForm(provider=provider)
                                                      if can_manage else None, can_test=membership.can_edit))


def _detail_context(provider: Provider, can_manage: bool, add_form, *, can_test: bool = False, **extra) -> dict:
    preset = presets.PRESETS.get(provider.preset)
    missing = []
    if preset and can_manage:
        have = set(provider.models.values_list("name", flat=True))
        missing = [m for m in preset.models if m.name not in have]
    return {
        "provider": provider,
        "key_status": services.key_status(provider),
        "rows": _rows(provider),
        "can_manage": can_manage,
        "add_form": add_form,
        "preset": preset,
        "missing_preset_models": missing,
        "carried_kinds": [k for k in ("image", "audio", "video", "pdf")
                          if k in presets.kinds_for(provider.protocol, provider.gateway_extensions)],
        "prices_as_of": presets.PRICES_AS_OF,
        "can_test": can_test,
        "test_models": list(provider.models.filter(enabled=True).order_by("name")) if can_test else [],
        "probe_every_s": probe.PROBE_EVERY_S,
        **extra,
    }


@sensitive_post_parameters("api_key")
@sensitive_variables()
@require_http_methods(["GET", "POST"])
@never_cache
@transaction.atomic
def provider_edit(request, provider_id: int):
    provider, _ = _get_provider(request, provider_id, manage=True)
    if request.method == "POST":
        had_key = bool(provider.api_key_encrypted)
        form = ProviderForm(request.POST, instance=provider, team=provider.team)
        if form.is_valid():
            form.save()
            services.audit_provider_saved(provider, request.user, created=False, changed=form.changed_data,
                                          had_key=had_key, typed_key=bool(form.cleaned_data.get("api_key")))
            messages.success(request, f"Saved {provider.name}.")
            return redirect("catalog:detail", provider.pk)
    else:
        form = ProviderForm(instance=provider, team=provider.team)
    return render(request, "catalog/provider_form.html", {
        "form": form,
        "provider": provider,
        "key_status": services.key_status(provider),
        "api_versions": API_VERSION_SUGGESTIONS,
    })


@require_http_methods(["GET", "POST"])
@transaction.atomic
def provider_delete(request, provider_id: int):
    provider, _ = _get_provider(request, provider_id, manage=True)
    if request.method == "POST":
        name = provider.name
        services.audit_provider_deleted(provider, request.user)
        provider.delete()
        messages.success(request, f"Deleted {name}. Past runs keep what they sent and received.")
        return redirect("catalog:list")
    return render(request, "catalog/provider_delete.html", {
        "provider": provider,
        "model_count": provider.models.count(),
        "result_count": _result_count(provider),
    })


# --- models ---------------------------------------------------------------------------------------------


@require_POST
@transaction.atomic
def model_add(request, provider_id: int):
    provider, _ = _get_provider(request, provider_id, manage=True)
    form = ProviderModelForm(request.POST, provider=provider, user=request.user)
    if form.is_valid():
        model = form.save()
        services.audit_models(provider, request.user, AuditEvent.Action.MODEL_ADDED, "added", [model.name])
        if not request.htmx:
            messages.success(request, f"Added {model.name}.")
            return redirect("catalog:detail", provider.pk)
        form = ProviderModelForm(provider=provider)  # a fresh form for the next one
        response = render(request, "catalog/detail.html#model-section", _detail_context(provider, True, form, can_test=True))
        return trigger_client_event(response, "models-changed")
    template = "catalog/detail.html#model-section" if request.htmx else "catalog/detail.html"
    return render(request, template, _detail_context(provider, True, form, can_test=True))


@require_POST
@transaction.atomic
def preset_models_add(request, provider_id: int):
    """Add the models of the provider's preset that it does not have (e.g. after deleting some)."""
    provider, _ = _get_provider(request, provider_id, manage=True)
    preset = presets.PRESETS.get(provider.preset)
    if preset is None:
        raise Http404("This provider was not made from a preset")
    names = request.POST.getlist("models")
    if not names:
        messages.error(request, "Tick the models to add.")
        return redirect("catalog:detail", provider.pk)
    added = services.add_preset_models(provider, preset, names)
    services.audit_models(provider, request.user, AuditEvent.Action.MODEL_ADDED, "added", [m.name for m in added])
    messages.success(request, f"Added {len(added)} model{'s' if len(added) != 1 else ''} from the {preset.name} preset.")
    return redirect("catalog:detail", provider.pk)


@require_GET
def model_row(request, model_id: int):
    model, membership = _get_model(request, model_id)
    return render(request, "catalog/_model_row.html",
                  {"row": ModelRow.of(model, model.provider), "can_manage": _is_owner(membership)})


@require_http_methods(["GET", "POST"])
@never_cache
@transaction.atomic
def model_edit(request, model_id: int):
    model, _ = _get_model(request, model_id, manage=True)
    provider = model.provider
    if request.method == "POST":
        form = ProviderModelForm(request.POST, instance=model, provider=provider, user=request.user)
        if form.is_valid():
            model = form.save()
            services.audit_models(provider, request.user, AuditEvent.Action.MODEL_CHANGED, "changed", [model.name],
                                  form.changed_data)
            if not request.htmx:
                messages.success(request, f"Saved {model.name}.")
                return redirect("catalog:detail", provider.pk)
            response = render(request, "catalog/_model_row.html",
                              {"row": ModelRow.of(model, provider), "can_manage": True})
            return trigger_client_event(response, "models-changed")
    else:
        form = ProviderModelForm(instance=model, provider=provider)
    template = "catalog/_model_edit_row.html" if request.htmx else "catalog/model_edit.html"
    return render(request, template, {"form": form, "model": model, "provider": provider})


@require_POST
@transaction.atomic
def model_toggle(request, model_id: int):
    model, _ = _get_model(request, model_id, manage=True)
    model.enabled = not model.enabled
    model.save(update_fields=["enabled"])
    services.audit_models(model.provider, request.user, AuditEvent.Action.MODEL_CHANGED,
                          "enabled" if model.enabled else "disabled", [model.name])
    if not request.htmx:
        return redirect("catalog:detail", model.provider_id)
    response = render(request, "catalog/_model_row.html", {"row": ModelRow.of(model, model.provider), "can_manage": True})
    return trigger_client_event(response, "models-changed")


@require_POST
@transaction.atomic
def model_delete(request, model_id: int):
    model, _ = _get_model(request, model_id, manage=True)
    provider_id = model.provider_id
    services.audit_models(model.provider, request.user, AuditEvent.Action.MODEL_REMOVED, "removed", [model.name])
    model.delete()
    if not request.htmx:
        messages.success(request, f"Removed {model.name}.")
        return redirect("catalog:detail", provider_id)
    return trigger_client_event(HttpResponse(""), "models-changed")  # the row swaps itself out


# --- asking the provider: a test request, its model list (probe.py) ------------------------------------------


def _probe_page(request, provider: Provider, membership, fragment: str, status: int = 200, **extra):
    """The provider page with a probe's outcome; with htmx only the fragment that shows it."""
    can_manage = _is_owner(membership)
    context = _detail_context(provider, can_manage, ProviderModelForm(provider=provider) if can_manage else None,
                              can_test=membership.can_edit, **extra)
    if request.htmx:  # htmx swaps only 2xx answers: the fragment itself says what went wrong
        return render(request, f"catalog/detail.html#{fragment}", context)
    return render(request, "catalog/detail.html", context, status=status)


def _too_soon(wait: int) -> str:
    return (f"Just tested: try again in {wait} s (at most one request every {probe.PROBE_EVERY_S} s per person "
            "and per provider).")


@require_POST
@never_cache
def provider_test(request, provider_id: int):
    """Send a tiny real request to one of the provider's models; owners and editors."""
    provider, membership = _get_provider(request, provider_id)
    if not membership.can_edit:
        raise PermissionDenied("Viewers cannot send requests to providers.")
    models = provider.models.filter(enabled=True).order_by("name")
    chosen = request.POST.get("model", "")
    if not chosen:
        model = models.first()
    elif chosen.isascii() and chosen.isdigit() and len(chosen) <= 18:  # a 64-bit id; longer names no model
        model = models.filter(pk=int(chosen)).first()
    else:
        model = None
    if model is None:
        why = "Add a model first: the test request goes to one of the provider's enabled models." if not chosen \
            else "Choose one of the provider's enabled models."
        return _probe_page(request, provider, membership, "probe-section", 400, probe_error=why)
    allowed, wait = probe.take_turn(request.user, "test", provider)
    if not allowed:
        return _probe_page(request, provider, membership, "probe-section", 429, probe_error=_too_soon(wait),
                           probe_model=model.pk)
    outcome = probe.test_connection(provider, model)
    return _probe_page(request, provider, membership, "probe-section", probe=outcome, probe_model=model.pk)


@require_POST
@never_cache
def models_fetch(request, provider_id: int):
    """The provider's own model list, to tick models to add; owners (they add models)."""
    provider, membership = _get_provider(request, provider_id, manage=True)
    allowed, wait = probe.take_turn(request.user, "models", provider)
    if not allowed:
        return _probe_page(request, provider, membership, "listing-section", 429, listing_error=_too_soon(wait))
    return _probe_page(request, provider, membership, "listing-section", listing=probe.list_models(provider))


@require_POST
@transaction.atomic
def models_from_list(request, provider_id: int):
    """Add the models ticked in the provider's list, with a preset's settings where one knows the name."""
    provider, _ = _get_provider(request, provider_id, manage=True)
    names = request.POST.getlist("models")[: probe.MAX_MODELS]
    if not names:
        messages.error(request, "Tick the models to add.")
        return redirect("catalog:detail", provider.pk)
    added = services.add_listed_models(provider, [(n, request.POST.get(f"label:{n}", "")) for n in names])
    services.audit_models(provider, request.user, AuditEvent.Action.MODEL_ADDED, "added", [m.name for m in added])
    skipped = len(set(names)) - len(added)
    note = f" ({skipped} skipped: already there or not a model id)" if skipped else ""
    messages.success(request, f"Added {len(added)} model{'s' if len(added) != 1 else ''} from the provider's list{note}.")
    return redirect("catalog:detail", provider.pk)
