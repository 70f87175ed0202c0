"""The reconciliation arithmetic (runs/reconcile.py): a result's estimate against the provider's
reported input, per modality, and a model's mean error. Every expected figure is worked out by
hand in the comment beside it."""

import pytest

from playground.protocols.tokens import PartTokens, TokenEstimate
from playground.runs.reconcile import (
    UNRELIABLE_PCT,
    Comparison,
    accuracy,
    estimate_snapshot,
    pct_error,
    reconcile,
)


def test_the_error_is_the_reported_input_against_the_estimate_in_percent():
    assert pct_error(1560, 1602) == pytest.approx(2.6923, abs=1e-4)  # 42 / 1560 = 0.026923
    assert pct_error(200, 150) == -25.0  # 50 fewer of 200
    assert pct_error(85, 85) == 0.0
    assert pct_error(0, 0) == 0.0  # nothing estimated, nothing counted: exact


def test_the_error_is_unknown_when_either_side_is_or_the_estimate_is_zero():
    assert pct_error(None, 1602) is None
    assert pct_error(1560, None) is None
    assert pct_error(0, 258) is None  # no percentage of nothing: the 258 tokens say it


def test_a_comparison_gives_the_difference_in_tokens():
    assert Comparison("input", 1560, 1602).diff == 42
    assert Comparison("image", 765, 700).diff == -65
    assert Comparison("image", 0, 258).diff == 258 and Comparison("image", 0, 258).pct is None
    assert Comparison("audio", None, 320).diff is None and not Comparison("audio", None, 320).both


def _estimate(**kinds):
    base = {"text": 0, "image": 0, "audio": 0, "video": 0, "pdf": 0, "method": "o200k_base tokenizer", "unknown": []}
    base.update(kinds)
    base["total"] = sum(v for k, v in base.items() if k in ("text", "image", "audio", "video", "pdf") and v)
    return base


def test_per_modality_where_both_sides_have_a_figure_and_the_rest_says_unknown():
    estimate = _estimate(text=35, image=765)  # total 800
    usage = {"input": 820, "text_in": 40, "image_in": 780, "audio_in": 0, "video_in": None, "pdf_in": None}

    rec = reconcile(estimate, usage, 820)

    assert (rec.total.estimated, rec.total.reported, rec.total.diff) == (800, 820, 20)
    assert rec.total.pct == pytest.approx(2.5)  # 20 / 800
    by_kind = {c.kind: c for c in rec.modalities}
    assert list(by_kind) == ["text", "image"]  # audio: none sent and 0 counted; video, pdf: neither side
    assert by_kind["text"].pct == pytest.approx(14.2857, abs=1e-4)  # 5 / 35
    assert by_kind["image"].pct == pytest.approx(1.9608, abs=1e-4)  # 15 / 765


def test_a_provider_without_a_breakdown_leaves_each_modality_not_reported_never_0():
    rec = reconcile(_estimate(text=40, image=1560), {"input": 1650, "image_in": None, "audio_in": None}, 1650)

    assert rec.total.pct == pytest.approx(3.125)  # (1650 - 1600) / 1600
    assert [(c.kind, c.estimated, c.reported) for c in rec.modalities] == [("text", 40, None), ("image", 1560, None)]
    assert all(c.pct is None and c.diff is None for c in rec.modalities)


def test_a_kind_the_estimate_could_not_count_is_unknown_and_what_the_provider_counted_shows():
    estimate = _estimate(text=12)
    estimate["audio"] = None  # audio to OpenAI: no documented cost
    estimate["unknown"] = ["message 1, part 2 (user): audio cost not documented for this protocol"]

    rec = reconcile(estimate, {"input": 340, "text_in": 20, "audio_in": 320}, None)  # the total from usage

    assert (rec.total.estimated, rec.total.reported) == (12, 340)
    assert [(c.kind, c.estimated, c.reported) for c in rec.modalities] == [("text", 12, 20), ("audio", None, 320)]
    assert rec.unknown == ("message 1, part 2 (user): audio cost not documented for this protocol",)


def test_tokens_counted_for_a_kind_the_estimate_had_none_of_are_shown():
    rec = reconcile(_estimate(text=10), {"input": 268, "text_in": 10, "image_in": 258}, 268)
    assert [(c.kind, c.estimated, c.reported, c.diff) for c in rec.modalities] == [("text", 10, 10, 0), ("image", 0, 258, 258)]


def test_no_stored_estimate_compares_nothing():
    rec = reconcile({}, {"input": 100, "text_in": 100}, 100)
    assert not rec.has_estimate and rec.total.pct is None and rec.modalities == ()
    rec = reconcile(None, None, None)
    assert not rec.has_estimate and rec.total.reported is None


def test_junk_in_the_stored_figures_is_unknown_not_a_number():
    rec = reconcile({"total": "800", "text": True}, {"input": 1.5}, None)
    assert (rec.total.estimated, rec.total.reported) == (None, None)


def test_a_models_accuracy_is_the_mean_absolute_and_signed_error_of_its_results():
    acc = accuracy([10.0, -30.0, 5.0, None])  # the None (no usage reported) is not counted

    assert acc.n == 3
    assert acc.mean_abs_pct == pytest.approx(15.0)  # (10 + 30 + 5) / 3
    assert acc.mean_pct == pytest.approx(-5.0)  # (10 - 30 + 5) / 3
    assert not acc.unreliable


def test_a_model_off_by_more_than_the_threshold_on_average_is_unreliable():
    assert UNRELIABLE_PCT == 25.0
    assert accuracy([30.0, -24.0]).unreliable  # mean absolute 27
    assert not accuracy([25.0, -25.0]).unreliable  # exactly 25 is not more than 25
    assert accuracy([None, None]) is None and accuracy([]) is None


def test_the_snapshot_keeps_each_kind_and_makes_a_kind_with_an_uncounted_part_unknown():
    tokens = TokenEstimate(
        protocol="chat", text=35, image=765, audio=0, video=0, pdf=0, total=800,
        parts=(PartTokens("system", "text", 5, "o200k_base tokenizer"),
               PartTokens("message 1, part 1 (user)", "image", 765, "tile formula"),
               PartTokens("message 1, part 2 (user)", "audio", None, "not documented")),
        unknown=("message 1, part 2 (user): audio cost not documented for this protocol",),
        text_method="o200k_base tokenizer",
    )  # fmt: skip

    snap = estimate_snapshot(tokens)

    assert snap == {"total": 800, "text": 35, "image": 765, "audio": None, "video": 0, "pdf": 0,
                    "method": "o200k_base tokenizer",
                    "unknown": ["message 1, part 2 (user): audio cost not documented for this protocol"]}  # fmt: skip
