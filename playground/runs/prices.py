"""Prices kept on a Result: a snapshot of the model's prices at send time, and the cost from it.

    result.prices = price_snapshot(pm)          # {"input_per_mtok": "1.5", "per_image": None, ...}
    cost_from_snapshot(result.prices, usage, images=2, audio_s=0.0)   # Decimal USD, or None

A snapshot, so later price edits never change what an old run cost (models.py: "snapshot, don't
reference"); the rules are ProviderModel.cost's, applied to the snapshot.
"""

from __future__ import annotations

from decimal import Decimal

from playground.catalog.models import ProviderModel, usd_cost

__all__ = ["cost_from_snapshot", "price_snapshot"]

_PRICE_FIELDS = {
    "input_per_mtok": "price_input_per_mtok",
    "cached_input_per_mtok": "price_cached_input_per_mtok",
    "output_per_mtok": "price_output_per_mtok",
    "per_image": "price_per_image",
    "per_audio_second": "price_per_audio_second",
}


def price_snapshot(pm: ProviderModel) -> dict:
    """The model's prices as they are now (strings; None: unknown), kept on the Result."""
    out = {}
    for key, name in _PRICE_FIELDS.items():
        value = getattr(pm, name)
        out[key] = None if value is None else str(value)
    return out


def cost_from_snapshot(prices: dict, usage, *, images: int = 0, audio_s: float = 0.0) -> Decimal | None:
    """USD from a price snapshot and normalized usage (ProviderModel.cost's rules)."""
    if usage is None:
        return None

    def price(key):
        value = prices.get(key)
        return None if value is None else Decimal(value)

    return usd_cost(
        input_price=price("input_per_mtok"), cached_input_price=price("cached_input_per_mtok"),
        output_price=price("output_per_mtok"), per_image=price("per_image"),
        per_audio_second=price("per_audio_second"), input_tokens=usage.input,
        cached_input_tokens=usage.cached_input, output_tokens=usage.output, images=images, audio_seconds=audio_s,
    )  # fmt: skip
