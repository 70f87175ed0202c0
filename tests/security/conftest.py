"""Fixtures of the security walks (test_no_500.py, test_access_walk.py): a team A with one of
every object, each named with a marker string that must never show to anyone outside it.

Names are prefixed ``walk_`` (other modules of this folder keep fixtures of their own)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from playground.accounts.models import Membership
from tests.factories import (
    make_item,
    make_member,
    make_model,
    make_png,
    make_prompt,
    make_provider,
    make_team,
    make_wav,
)

MARK = "WalkMarkA7q"  # in every name of team A's objects; never in a page of another team


@dataclass
class WalkWorld:
    team: object
    other_team: object
    owner: object
    viewer: object
    outsider: object  # owner of other_team, no membership of team
    item: object
    audio: object
    variant: object
    variant_file: object
    prompt: object
    version: object
    provider: object
    model: object
    run: object
    result: object
    other_result: object
    markers: list[str] = field(default_factory=list)
    pdf: object = None  # a two-page PDF (its pages are walked)


def _run_with_results(world_team, version, models, user):
    """A run whose results are answered (written directly: nothing is sent anywhere)."""
    from playground.runs import services
    from playground.runs.models import Result, Run

    run = services.start_run(version=version, values={"subject": "a cat"}, provider_models=models,
                             user=user, team=world_team)
    for i, r in enumerate(run.results.order_by("position")):
        Result.objects.filter(pk=r.pk).update(
            status=Result.Status.SUCCEEDED, output_text=f"{MARK}-output-{i} a fine cat",
            response_json={"choices": [{"message": {"content": f"{MARK}-output-{i}"}}]},
            input_tokens=10, output_tokens=5, total_tokens=15, latency_total_ms=100 + i)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE)
    run.refresh_from_db()
    return run


@pytest.fixture
def walk_world(db) -> WalkWorld:
    from playground.prompts.document import normalize
    from playground.uploads import services as media
    from playground.uploads.models import VariantFile
    from playground.uploads.variants import VariantSpec

    team = make_team(name=f"{MARK} team")
    other_team = make_team(name="Other walk team")
    owner = make_member(team, Membership.Role.OWNER, username="walk_owner")
    viewer = make_member(team, Membership.Role.VIEWER, username="walk_viewer")
    outsider = make_member(other_team, Membership.Role.OWNER, username="walk_outsider")

    item = make_png(team, f"{MARK}-photo.png", width=80, height=60, user=owner)
    audio = make_wav(team, f"{MARK}-tone.wav", seconds=0.5, user=owner)
    from tests.media_samples import pdf_bytes

    pdf = make_item(team, pdf_bytes(pages=2), f"{MARK}-brief.pdf", user=owner)
    variant = media.get_variant(item, VariantSpec.image(max_edge=32, format="png"))
    variant_file = VariantFile.objects.filter(variant=variant).order_by("position").first()

    prompt = make_prompt(team, f"{MARK} prompt", user=owner)
    doc = {"name": f"{MARK} prompt", "system": f"{MARK}-system",
           "messages": [{"role": "user", "parts": [{"text": "Describe {{subject}}."}, {"media": {"item": item.pk}}]}],
           "variables": {"subject": "a cat"}, "options": {}}
    prompt.save_version(normalize({**doc, "system": "first"}), media_items=[item], user=owner)
    version = prompt.save_version(normalize(doc), media_items=[item], user=owner)

    provider = make_provider(team, name=f"{MARK} provider", base_url="https://api.example.invalid/v1",
                             key="sk-walk-not-a-real-key-0000", notes=f"{MARK}-notes", preset="openai")
    model = make_model(provider, f"{MARK}-model", inputs=["image", "audio", "video", "pdf"], prices=False)
    other_model = make_model(provider, f"{MARK}-model-2", inputs=["image"], prices=False)
    run = _run_with_results(team, version, [model, other_model], owner)
    results = list(run.results.order_by("position"))
    assert item.thumbnail_id and variant_file and all(r.request_body_id for r in results), "fixture incomplete"
    return WalkWorld(team=team, other_team=other_team, owner=owner, viewer=viewer, outsider=outsider,
                     item=item, audio=audio, variant=variant, variant_file=variant_file, prompt=prompt,
                     version=version, provider=provider, model=model, run=run, result=results[0],
                     other_result=results[1], markers=[MARK], pdf=pdf)


@pytest.fixture
def walk_no_network(monkeypatch):
    """No request of the walks may leave the machine (URL fetches, providers): every name
    lookup and outgoing connection fails as if offline."""

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    # The team pass keeps media in an S3 server on loopback (tests/s3_server.py): that one stays reachable.
    bucket = urlsplit(settings.STORAGES["default"].get("OPTIONS", {}).get("endpoint_url") or "")
    media = (bucket.hostname, bucket.port) if bucket.hostname in ("127.0.0.1", "::1") else None

    def offline(host=None, port=None, *args, **kwargs):
        if media and (host, int(port or 0)) == media:
            return real_getaddrinfo(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "the security walks run offline")

    def guarded(real):
        def connect(sock, address):
            # Local pipes and sockets stay usable, and the loopback media bucket.
            if sock.family in (socket.AF_INET, socket.AF_INET6) and tuple(address[:2]) != media:
                raise OSError("the security walks run offline")
            return real(sock, address)
        return connect

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))
