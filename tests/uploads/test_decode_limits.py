"""Decompression bombs and other files that cost too much to decode are refused, with a reason,
without the web (or worker) process paying for them; the same bytes sent again are not decoded
again. The limits (PRISM_DECODE_MAX_MB, PRISM_DECODE_TIMEOUT_S) bind a child process
(playground/uploads/sandbox.py)."""

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from playground.uploads import sandbox, services
from playground.uploads.identify import MediaRejected
from playground.uploads.models import MediaItem, MediaVariant, RefusedFile, StoredFile
from playground.uploads.variants import VariantSpec
from tests import media_samples as ms
from tests.uploads.posts import upload

# Each test stores into its own folder, so 'nothing was stored' is checked on disk (tests/uploads/conftest.py).
pytestmark = pytest.mark.usefixtures("media_dir")

ROOT = Path(__file__).resolve().parents[2]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@pytest.fixture
def decodes(monkeypatch):
    """How many times a file was handed to the decoders."""
    calls = []
    real = sandbox.check_media

    def counting(path, **kwargs):
        calls.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(sandbox, "check_media", counting)
    return calls


def test_a_pdf_bomb_is_refused_without_the_web_process_paying_and_not_decoded_twice(
    client_in, settings, decodes, stored_blobs
):
    """A 1 MB PDF whose page is 1 GiB of spaces once Flate-inflated: drawing its thumbnail used
    to take 2 GB and 12 s of the web worker."""
    settings.PRISM_DECODE_MAX_MB = 256  # the default (1024) holds too; a smaller bound keeps the test light
    bomb = ms.bomb_pdf_bytes()
    assert len(bomb) < 1.5 * 1024 * 1024
    rss_before = peak_rss_mb()
    start = time.monotonic()
    response = upload(client_in, "report.pdf", bomb)
    elapsed = time.monotonic() - start
    assert response.status_code == 200
    text = response.content.decode()
    assert "This PDF needs more than 256 MB of memory to open, so it was not accepted" in text
    assert peak_rss_mb() - rss_before < 100, "the bomb went off in the test process"
    assert elapsed < 10
    assert MediaItem.objects.count() == 0 and StoredFile.objects.count() == 0
    assert not stored_blobs()
    assert len(decodes) == 1

    # The same bytes again (by anyone): refused at once with the same reason, not decoded.
    start = time.monotonic()
    again = upload(client_in, "again.pdf", bomb)
    assert "This PDF needs more than 256 MB of memory to open" in again.content.decode()
    assert time.monotonic() - start < 1.0
    assert len(decodes) == 1
    assert MediaItem.objects.count() == 0


def test_a_100_megapixel_png_is_decoded_outside_the_web_process(client_in, settings, decodes):
    """Exactly at the pixel limit, so the header check passes; 300 MB of pixels once decoded."""
    settings.PRISM_DECODE_MAX_MB = 256
    rss_before = peak_rss_mb()
    response = upload(client_in, "wall.png", ms.big_png_bytes(10000, 10000))
    assert "This image needs more than 256 MB of memory to open, so it was not accepted" in response.content.decode()
    assert peak_rss_mb() - rss_before < 100
    assert MediaItem.objects.count() == 0
    assert RefusedFile.objects.count() == 1


def test_a_file_that_takes_too_long_to_decode_is_refused(team, user, settings, tmp_path):
    settings.PRISM_DECODE_TIMEOUT_S = 1
    # 225 megapixels (675 MB decoded, within the default 1024 MB): ~1.7 s or more to decode and draw
    # even on an idle machine, where 100 megapixels took 0.8 s and so passed the 1 s limit.
    settings.MAX_IMAGE_PIXELS = 225_000_000
    path = ms.write_sample(tmp_path, "wall.png", ms.big_png_bytes(15000, 15000))
    start = time.monotonic()
    with pytest.raises(MediaRejected, match=r"^This image took longer than 1 s to check, so it was not accepted\.$"):
        services.add_path(team=team, user=user, path=path, name="wall.png")
    assert time.monotonic() - start < 3
    assert MediaItem.objects.count() == 0


def test_a_refusal_under_other_limits_is_checked_again(team, user, settings, tmp_path, decodes):
    settings.PRISM_DECODE_MAX_MB = 64
    path = ms.write_sample(tmp_path, "big.png", ms.big_png_bytes(2000, 2000))  # 12 MB of pixels + working room
    settings.MAX_IMAGE_PIXELS = 1_000_000
    with pytest.raises(MediaRejected, match="over the 1 megapixel limit"):
        services.add_path(team=team, user=user, path=path, name="big.png")
    settings.MAX_IMAGE_PIXELS = 100_000_000  # the operator raised the limit: the stored refusal no longer applies
    added = services.add_path(team=team, user=user, path=path, name="big.png")
    assert (added.item.width, added.item.height) == (2000, 2000)
    assert len(decodes) == 2


def test_known_bytes_are_not_decoded_again(team, other_team, user, tmp_path, decodes):
    path = ms.write_sample(tmp_path, "photo.jpg", ms.jpeg_bytes(64, 48))
    first = services.add_path(team=team, user=user, path=path, name="photo.jpg")
    assert first.created and len(decodes) == 1
    same_team = services.add_path(team=team, user=user, path=path, name="copy.jpg")
    assert not same_team.created and same_team.item == first.item
    # Another team's library gets its own item, with the findings and thumbnail of the first.
    other = services.add_path(team=other_team, user=None, path=path, name="theirs.jpg")
    assert other.created and other.item.team == other_team
    assert (other.item.width, other.item.height, other.item.mime_type) == (64, 48, "image/jpeg")
    assert other.item.thumbnail_id == first.item.thumbnail_id is not None
    assert len(decodes) == 1


def test_a_variant_over_the_memory_limit_fails_with_a_reason(team, settings):
    # Stored directly, as if accepted under a larger limit; then the variant is made under 256 MB.
    data = ms.big_png_bytes(10000, 10000)
    stored = services.store_bytes(data, "image/png")
    item = MediaItem.objects.create(
        team=team, name="wall.png", kind="image", file=stored, sha256=stored.sha256, size=len(data),
        mime_type="image/png", format="PNG", width=10000, height=10000, frame_count=1, details={},
    )
    settings.PRISM_DECODE_MAX_MB = 256
    rss_before = peak_rss_mb()
    variant = MediaVariant.objects.create(source=stored, spec=VariantSpec.image(max_edge=512).key())
    services.make_variant(variant.pk, item.pk)
    variant.refresh_from_db()
    assert variant.status == MediaVariant.Status.FAILED
    assert variant.error == "Preparing this variant needs more than 256 MB of memory, so it was stopped."
    assert peak_rss_mb() - rss_before < 100


# --- the sandbox itself ------------------------------------------------------------------------


def test_the_child_returns_results_and_raises_errors():
    assert sandbox.run(sorted, [3, 1, 2], max_mb=64, timeout_s=5) == [1, 2, 3]
    with pytest.raises(ValueError, match="invalid literal"):
        sandbox.run(int, "x", max_mb=64, timeout_s=5)


def test_the_child_is_stopped_at_its_limits():
    start = time.monotonic()
    with pytest.raises(sandbox.LimitExceeded) as caught:
        sandbox.run(time.sleep, 30, max_mb=64, timeout_s=0.5)
    assert caught.value.reason == "time"
    assert time.monotonic() - start < 2
    with pytest.raises(sandbox.LimitExceeded) as caught:
        sandbox.run(bytearray, 512 * 1024 * 1024, max_mb=64, timeout_s=5)
    assert caught.value.reason == "memory"


def test_checks_from_many_threads_at_once(tmp_path):
    """As gunicorn's threads do: each gets its own child and its own answer."""
    from concurrent.futures import ThreadPoolExecutor

    paths = [ms.write_sample(tmp_path, f"{w}.png", ms.png_bytes(w, 20)) for w in (30, 40, 50, 60, 70, 80)]
    with ThreadPoolExecutor(6) as pool:
        infos = list(pool.map(lambda p: sandbox.check_media(p, max_image_pixels=100_000_000)[0], paths))
    assert [info.width for info in infos] == [30, 40, 50, 60, 70, 80]


def test_a_dead_server_is_replaced():
    import os
    import signal

    sandbox.warm_up()
    os.kill(sandbox._server[1].pid, signal.SIGKILL)
    sandbox._server[1].wait()
    assert sandbox.run(sorted, [2, 1], max_mb=64, timeout_s=5) == [1, 2]


def test_a_check_costs_little(tmp_path):
    """Each check is a fork of a server that has the decoders loaded (figures: see the commit)."""
    sandbox.warm_up()
    path = ms.write_sample(tmp_path, "a.png", ms.png_bytes())
    start = time.perf_counter()
    for _ in range(5):
        sandbox.check_media(path, max_image_pixels=100_000_000)
    per_check = (time.perf_counter() - start) / 5
    assert per_check < 0.25, f"{per_check * 1000:.0f} ms per check"


def test_the_decoding_modules_need_no_django():
    code = (
        "import sys; from playground.uploads import identify, pictures, sandbox, variants; "
        "sandbox.run(sorted, [2, 1], max_mb=64, timeout_s=10); "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "sys.exit('django imported: ' + ', '.join(bad) if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr or done.stdout
