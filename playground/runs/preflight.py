"""Before a run: per chosen model, the exact request that will go out and whether it can.

    checks = preflight(version=v, values={"city": "Lyon"}, provider_models=[pm1, pm2], team=team)
    for c in checks:
        c.ok, c.rendered.display(), c.tokens.total, c.estimated_cost, c.reasons, c.applied, c.key_problem

The model's capabilities decide, not just its protocol: ``ProviderModel.inputs`` becomes
``Target.inputs``, and its image formats and size limit are checked here. When a part is refused
and the refusal offers a *variant* (a PNG/JPEG/MP3 copy) or *key frames* (a video as stills),
that fallback is applied automatically, exactly as the editor's button would (the document's
``"variant"`` option), and listed in ``applied``; a clear refusal remains only where no such
fallback exists (audio to Anthropic, media in a system prompt, a temperature out of range).
Other fallbacks (downloading a URL, clamping a setting) change what is asked, so they stay the
user's choice in the editor.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from playground.catalog import secrets
from playground.catalog.models import Provider, ProviderModel
from playground.prompts.document import (
    MediaProblem,
    build_prompt,
    is_placeholder_problem,
    normalize,
)
from playground.prompts.library_source import LibrarySource
from playground.prompts.sources import variant_options
from playground.protocols import (
    RenderedRequest,
    Target,
    TokenEstimate,
    estimate_tokens,
    render,
)
from playground.protocols._common import canonical_mime

__all__ = ["Preflight", "check_one", "key_problem", "preflight", "target_for"]

MAX_ROUNDS = 4  # fallbacks applied, then checked again (a variant may need another: HEIC too big)
FORMAT_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WebP"}
FORMAT_MIMES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}


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


# --- applying fallbacks -----------------------------------------------------------------------------


def _describe_variant(kind: str, options: dict) -> str:
    if "frames" in options:
        return f"{options['frames']} key frames (stills, not the video)"
    bits = []
    if options.get("format"):
        bits.append(f"a {FORMAT_NAMES.get(options['format'], options['format'].upper())} copy")
    if options.get("max_edge"):
        bits.append(f"{'scaled' if bits else 'a copy scaled'} to at most {options['max_edge']} px")
    return " ".join(bits) or "a converted copy"


class _Doc:
    """The document and values being adjusted, plus variants for media given by variables."""

    def __init__(self, content: dict, values: dict):
        self.doc = normalize(copy.deepcopy(content))
        self.values = dict(values or {})
        self.var_variants: dict[str, dict] = {}

    def build(self, source):
        built = build_prompt(self.doc, source, self.values)
        for name, options in self.var_variants.items():
            raw = self.values.get(name, self.doc["variables"].get(name))
            if isinstance(raw, dict) and "media" in raw:
                try:
                    built.values[name] = source.media_part(raw["media"], detail=None, send="inline", variant=options)
                except MediaProblem as exc:
                    from playground.prompts.document import PartIssue

                    built.issues.append(PartIssue(None, None, f"variable {{{{{name}}}}}", str(exc)))
        return built

    def apply(self, mi: int, pi: int, options: dict) -> tuple[bool, str]:
        """Merge variant options into the part at (mi, pi) (or its variable). (changed, name)."""
        try:
            part = self.doc["messages"][mi]["parts"][pi]
        except (IndexError, KeyError):
            return False, ""
        if "media" in part:
            merged = {**(part.get("variant") or {}), **options}
            if "frames" in options:
                merged = dict(options)
            if part.get("variant") == merged:
                return False, ""
            part["variant"] = merged
            part.pop("send", None)  # a variant is sent inline
            return True, ""
        name = part.get("media_variable")
        if name is None:
            return False, ""
        merged = {**self.var_variants.get(name, {}), **options}
        if "frames" in options:
            merged = dict(options)
        if self.var_variants.get(name) == merged:
            return False, name
        self.var_variants[name] = merged
        return True, name


def _part_label(where: str, media, kind: str) -> str:
    name = f" “{media.name}”" if media is not None and media.name else ""
    return f"{where}: {kind}{name}"


def _capability_fixes(pm: ProviderModel, rendered: RenderedRequest, protocol: str) -> list[tuple[int, int, dict, Any]]:
    """Images the model's own format list or size limit rules out: (mi, pi, variant options, part)."""
    formats = {canonical_mime(f) for f in (pm.image_formats or [])}
    fixes = []
    for s in rendered.sent:
        m = s.media
        if m is None or m.kind != "image" or s.message_index is None or s.part_index is None or m.delivery != "inline":
            continue
        options: dict = {}
        mime = canonical_mime(m.mime_type)
        if formats and mime not in formats:
            wanted = "jpeg" if mime in ("image/jpeg", "image/heic", "image/heif") else "png"
            for fmt in (wanted, "png", "jpeg", "webp"):
                if FORMAT_MIMES[fmt] in formats:
                    options["format"] = fmt
                    break
        edge = pm.max_image_edge
        if edge and max(m.width or 0, m.height or 0) > edge:
            options["max_edge"] = edge
        if options:
            fixes.append((s.message_index, s.part_index, options, m))
    return fixes


def _media_of(built, mi, pi):
    return built.media.get((mi, pi))


def check_one(pm: ProviderModel, *, content: dict, values: dict, source) -> Preflight:
    """The preflight of one model (see the module docstring)."""
    target = target_for(pm)
    state = _Doc(content, values)
    applied: list[str] = []
    built = rendered = None
    for _round in range(MAX_ROUNDS):
        built = state.build(source)
        rendered = render(built.prompt, built.values, target)
        changed = False
        for refusal in rendered.refusals:
            fb = refusal.fallback
            if fb is None or fb.kind not in ("variant", "keyframes") or refusal.message_index is None or refusal.part_index is None:
                continue
            options = variant_options(fb.spec) if fb.spec else {"frames": 8}
            did, var = state.apply(refusal.message_index, refusal.part_index, options)
            if did:
                changed = True
                media = _media_of(built, refusal.message_index, refusal.part_index)
                kind = refusal.modality
                subject = f"{{{{{var}}}}}" if var else _part_label(refusal.where, media, kind)
                applied.append(f"{subject}: {kind} sent as {_describe_variant(kind, options)} ({refusal.reason})")
        for mi, pi, options, media in _capability_fixes(pm, rendered, target.protocol):
            did, var = state.apply(mi, pi, options)
            if did:
                changed = True
                why = []
                if "format" in options:
                    why.append(f"{pm.name} takes {', '.join(sorted(pm.image_formats))}")
                if "max_edge" in options:
                    why.append(f"{pm.name} takes images up to {pm.max_image_edge} px")
                subject = f"{{{{{var}}}}}" if var else f"message {mi + 1}, part {pi + 1}: image{f' “{media.name}”' if media.name else ''}"
                applied.append(f"{subject}: sent as {_describe_variant('image', options)} ({'; '.join(why)})")
        if not changed:
            break

    reasons = [i.message for i in built.issues]
    reasons += [r.reason for r in rendered.refusals]
    reasons += [p.message for p in rendered.problems if p.level == "error" and not is_placeholder_problem(p)]
    images = [s.media for s in rendered.sent if s.media is not None and s.media.kind == "image"]
    if pm.max_images is not None and len(images) > pm.max_images:
        reasons.append(f"{pm.name} takes at most {pm.max_images} image{'s' if pm.max_images != 1 else ''} per request; this one has {len(images)}.")
    if not pm.accepts_urls:
        urls = [s.media for s in rendered.sent if s.media is not None and s.media.delivery == "url"]
        if urls:
            reasons.append(f"{pm.name} is set up to take media inline only; {len(urls)} part(s) are sent by URL (send them inline in the editor).")
    problem = key_problem(pm.provider, rendered.url)
    tokens = estimate_tokens(rendered)
    audio_s = sum(s.media.duration_s or 0 for s in rendered.sent if s.media is not None and s.media.kind == "audio")
    sent_media = {"images": len(images), "audio_s": round(audio_s, 3)}
    cost = pm.cost(input_tokens=tokens.total, output_tokens=0, images=len(images), audio_seconds=audio_s)
    cap = built.prompt.options.max_tokens or (target.default_max_tokens if target.protocol == "messages" else None)
    max_cost = (pm.cost(input_tokens=tokens.total, output_tokens=cap, images=len(images), audio_seconds=audio_s)
                if cap else None)  # fmt: skip
    notes = [f"fallback: {a}" for a in applied] + [f"{n.where}: {n.message}" for n in rendered.notes]
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
        sent_media=sent_media,
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


def preflight(*, version, values: dict, provider_models: list, team) -> list[Preflight]:
    """One Preflight per model, in the order given (models of other teams are left out)."""
    source = LibrarySource(team)
    models = [pm for pm in _models(provider_models) if pm.provider.team_id == team.pk]
    return [check_one(pm, content=version.content, values=values, source=source) for pm in models]
