"""Share-link benchmark: what one anonymous visit of a shared page costs, cold and warm.

    .venv/bin/python bench/share.py [--visits 30]

A throwaway data folder (temporary PRISM_DATA_DIR, migrated SQLite): a team, a prompt with a
12-megapixel JPEG and 60 s of WAV (bench/media.py's samples), saved as a version, a run of it
with two results, and a share link to the version showing the run. Then, through Django's test
client as an anonymous visitor (no session, no cookies), in one process:

  * cold: the first visit (no cached previews, no base64 text beside the stored files);
  * warm: each later visit (median and p95): the previews come from the cache, so a visit is a
    few queries, one page render and the view counter's one UPDATE;
  * previews: what the cache saves, sharing.display.previews_html rendered uncached (median);
  * media: the JPEG and the WAV served through the link, read to the end (median);
  * queries per warm visit, and the writes among them (the counter only).
Figures vary by machine; the ratio cold/warm is the point.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_spec = importlib.util.spec_from_file_location("bench_media", ROOT / "bench" / "media.py")
bench_media = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_media)  # make_photo_jpeg, make_wav


def _django(data_dir: str) -> None:
    os.environ["PRISM_DATA_DIR"] = data_dir
    Path(data_dir, "staticfiles").mkdir(exist_ok=True)  # WhiteNoise warns on every request without it
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _world(data_dir: Path):
    from decimal import Decimal

    from django.contrib.auth import get_user_model

    from playground.accounts.models import Membership, Team
    from playground.prompts.document import normalize
    from playground.prompts.models import Prompt
    from playground.runs.models import Result, Run
    from playground.sharing import services as sharing
    from playground.uploads import services

    team = Team.objects.create(name="Bench team")
    user = get_user_model().objects.create_user("bench", password="bench-pass-123")
    team.add_member(user, Membership.Role.OWNER)
    photo, wav = data_dir / "photo.jpg", data_dir / "audio.wav"
    bench_media.make_photo_jpeg(photo)
    bench_media.make_wav(wav, seconds=60)
    image = services.add_path(team=team, user=user, path=photo, name="photo.jpg").item
    audio = services.add_path(team=team, user=user, path=wav, name="audio.wav").item
    doc = normalize({"name": "Bench", "system": "Describe what you see and hear.", "variables": {"subject": "the scene"},
                     "messages": [{"role": "user", "parts": [{"text": "Describe {{subject}}."},
                                                             {"media": {"item": image.pk}},
                                                             {"media": {"item": audio.pk}}]}]})
    prompt = Prompt.objects.create(team=team, name="Bench", created_by=user)
    version = prompt.save_version(doc, media_items=[image, audio], user=user)
    run = Run.objects.create(team=team, prompt_version=version, status=Run.Status.DONE, created_by=user)
    for i, model in enumerate(("model-a", "model-b")):
        Result.objects.create(run=run, position=i, provider_name="p", protocol="chat", model_name=model,
                              url="https://x.example/v1/chat/completions", status=Result.Status.SUCCEEDED,
                              output_text="**A harbour** at dusk, gulls calling.\n\n- boats\n- a pier" * 20,
                              input_tokens=1500, output_tokens=120, cost_usd=Decimal("0.004"), latency_total_ms=900)
    link, token = sharing.create_link(prompt=prompt, version=version, runs=[run], user=user)
    return token, image, audio, version, link


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--visits", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-share-") as tmp:
        _django(tmp)
        from django.core.cache import cache
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext
        from django.urls import reverse

        from playground.sharing import display
        from playground.sharing.models import ShareLink

        token, image, audio, version, link = _world(Path(tmp))
        for b64 in Path(tmp).rglob("*.b64"):
            b64.unlink()
        cache.clear()
        url = reverse("sharing:page", args=[token])
        visitor = Client(HTTP_HOST="localhost")

        start = time.perf_counter()
        response = visitor.get(url)
        cold = time.perf_counter() - start
        assert response.status_code == 200, response.status_code
        warm = []
        for _ in range(args.visits):
            start = time.perf_counter()
            assert visitor.get(url).status_code == 200
            warm.append(time.perf_counter() - start)
        with CaptureQueriesContext(connection) as queries:
            visitor.get(url)
        # Read now: every request (request_started) empties the connection's query log.
        n_queries = len(queries.captured_queries)
        writes = [q["sql"] for q in queries.captured_queries if not q["sql"].lstrip().upper().startswith("SELECT")]

        doc = display.shared_document(version)
        uncached = []
        for _ in range(max(5, args.visits // 3)):
            cache.clear()
            start = time.perf_counter()
            display.previews_html(version, doc)
            uncached.append(time.perf_counter() - start)

        media = {}
        for name, item in (("JPEG", image), ("WAV", audio)):
            times = []
            for _ in range(10):
                start = time.perf_counter()
                got = visitor.get(reverse("sharing:file", args=[token, item.pk]))
                size = sum(len(chunk) for chunk in got.streaming_content)
                times.append(time.perf_counter() - start)
            media[name] = (statistics.median(times), size)

        warm.sort()
        p95 = warm[min(len(warm) - 1, int(len(warm) * 0.95))]
        print(f"Shared page, anonymous visitor ({args.visits} warm visits; 12 MP JPEG + 60 s WAV, a run of 2 results)")
        print(f"  cold (first visit: previews rendered, base64 text made)  {_ms(cold)}")
        print(f"  warm median                                             {_ms(statistics.median(warm))}   p95 {_ms(p95)}")
        print(f"  cold / warm                                             {cold / statistics.median(warm):.1f}x")
        print(f"  previews uncached (what the cache saves per visit)      {_ms(statistics.median(uncached))}")
        print(f"  queries per warm visit                                  {n_queries}"
              f" ({len(writes)} write: {writes[0][:70] if writes else '-'}…)")
        for name, (seconds, size) in media.items():
            print(f"  {name} through the link ({size / 1e6:.1f} MB)                     {_ms(seconds)}"
                  f"  ({size / seconds / 1e9:.2f} GB/s)")
        print(f"  view count now                                          {ShareLink.objects.get(pk=link.pk).view_count}")


if __name__ == "__main__":
    main()
