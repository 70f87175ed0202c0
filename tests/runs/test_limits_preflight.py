"""The size and count limits (protocols/limits.py) in a run's preflight: a refused image whose
fallback is a smaller copy is sent as that copy automatically, and what is left is within the rules."""

from playground.catalog.presets import ANTHROPIC
from playground.runs import services
from tests import media_samples as samples
from tests.factories import doc_with, make_item, make_version, model_for


def check(version, pm, team):
    [c] = services.preflight(version=version, values={}, provider_models=[pm], team=team)
    return c


def test_twenty_one_large_photos_to_claude_go_as_2000_px_copies(team, user, provider_server):
    photo = make_item(team, samples.jpeg_bytes(2100, 1050), "photo.jpg")  # one photo 21 times: one copy made
    doc = doc_with({"text": "What changed between these?"}, *[{"media": {"item": photo.pk}} for _ in range(21)])
    version = make_version(team, doc, user)
    preset = ANTHROPIC.model("claude-sonnet-4-6").fields()
    pm = model_for(team, provider_server, "messages", **{k: v for k, v in preset.items() if k != "name"},
                   name=preset["name"])

    c = check(version, pm, team)

    assert c.ok, c.reasons
    assert len(c.applied) == 21 and all("scaled to at most 2000 px" in a for a in c.applied)
    images = [s.media for s in c.rendered.sent if s.media is not None]
    assert len(images) == 21 and {(m.width, m.height) for m in images} == {(2000, 1000)}


def test_the_same_photos_within_twenty_are_sent_as_they_are(team, user, provider_server):
    photo = make_item(team, samples.jpeg_bytes(2100, 1050), "photo.jpg")
    version = make_version(team, doc_with({"text": "Look."}, *[{"media": {"item": photo.pk}} for _ in range(20)]), user)
    pm = model_for(team, provider_server, "messages", "claude-sonnet-4-6")

    c = check(version, pm, team)

    assert c.ok and not c.applied
    assert {(s.media.width, s.media.height) for s in c.rendered.sent if s.media is not None} == {(2100, 1050)}
