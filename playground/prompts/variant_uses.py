"""Which saved prompt versions ask for a media item's variant: the reason deleting a variant is
refused (uploads.services.delete_variant asks through uploads.references, registered in apps.py).

A version asks for a variant when one of its parts sends the item with a "variant" (or a
"variant_for" one target) whose spec, as the output it makes from the item (services.variant_key),
is the variant's key.
"""

from __future__ import annotations

from playground.prompts.document import MediaProblem
from playground.prompts.library_source import item_id_of
from playground.prompts.models import PromptVersion
from playground.prompts.sources import variant_spec
from playground.uploads import services


def _variants_of_part(part: dict, variables: dict) -> tuple[object, list[dict]]:
    ref = part.get("media")
    if ref is None and part.get("media_variable"):
        value = variables.get(part["media_variable"])
        ref = value.get("media") if isinstance(value, dict) else None
    asked = [part["variant"]] if part.get("variant") else []
    asked += [v for v in (part.get("variant_for") or {}).values() if v]
    return ref, asked


def versions_using(item, spec_key: str) -> list[str]:
    """The saved versions of item's team that ask for its variant kept under ``spec_key``, by name."""
    names = []
    versions = (
        PromptVersion.objects.filter(media_uses__item=item, prompt__team_id=item.team_id)
        .select_related("prompt")
        .order_by("prompt__name", "-number")
    )
    for version in versions:
        content = version.content if isinstance(version.content, dict) else {}
        variables = content.get("variables") or {}
        parts = [p for m in content.get("messages") or [] for p in m.get("parts") or [] if isinstance(p, dict)]
        for part in parts:
            ref, asked = _variants_of_part(part, variables)
            if item_id_of(ref) != item.pk:
                continue
            for variant in asked:
                try:
                    key = services.variant_key(item, variant_spec(item.kind, variant))
                except MediaProblem:
                    continue
                if key == spec_key:
                    names.append(f"the saved version “{version}”")
                    break
            else:
                continue
            break
    return names
