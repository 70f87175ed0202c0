"""The media library as a user drives it: upload, refusals, dedupe, serving, permissions, variants."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from playground.uploads.models import MediaItem, MediaVariant, StoredFile
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import make_item, make_member, make_png, make_prompt, make_team, make_wav
from tests.uploads.posts import upload, upload_files

pytestmark = pytest.mark.usefixtures("media_dir")  # each test stores into its own folder (tests/uploads/conftest.py)


# --- uploading -----------------------------------------------------------------------------------


def test_it_stores_a_png_with_metadata_and_thumbnail(client_in, team):
    response = upload(client_in, "photo.png", samples.png_bytes(64, 48))

    assert response.status_code == 200
    item = MediaItem.objects.get(team=team)
    assert (item.kind, item.mime_type, item.width, item.height) == ("image", "image/png", 64, 48)
    assert item.name == "photo.png"
    assert item.file.read_bytes() == samples.png_bytes(64, 48)
    assert item.thumbnail is not None
    assert f'id="media-{item.pk}"' in response.content.decode()
    assert "64×48" in response.content.decode()


def test_it_decides_the_type_from_the_bytes_not_the_name(client_in, team):
    upload(client_in, "actually-a-png.jpg", samples.png_bytes())

    item = MediaItem.objects.get(team=team)
    assert item.mime_type == "image/png"
    assert item.format == "PNG"


def test_it_reads_duration_of_a_wav_and_pages_of_a_pdf(client_in, team):
    upload(client_in, "tone.wav", samples.wav_bytes(seconds=1.0, rate=16000))
    upload(client_in, "doc.pdf", samples.pdf_bytes(pages=3))

    wav = MediaItem.objects.get(team=team, kind="audio")
    pdf = MediaItem.objects.get(team=team, kind="pdf")
    assert wav.duration_s == pytest.approx(1.0, abs=0.05)
    assert wav.details["sample_rate"] == 16000
    assert pdf.page_count == 3
    assert wav.thumbnail is not None and pdf.thumbnail is not None


def test_the_same_bytes_uploaded_twice_are_one_item_and_one_file(client_in, team, stored_blobs):
    upload(client_in, "a.png", samples.png_bytes())
    response = upload(client_in, "b.png", samples.png_bytes())

    assert "Already in your library" in response.content.decode()
    assert MediaItem.objects.filter(team=team).count() == 1
    originals = [p for p in stored_blobs() if p.name == MediaItem.objects.get().sha256]
    assert len(originals) == 1


def test_two_teams_with_the_same_bytes_share_one_stored_file(client_in, team, other_team):
    make_png(other_team, "theirs.png")
    upload(client_in, "mine.png", samples.png_bytes())

    assert MediaItem.objects.count() == 2
    assert StoredFile.objects.filter(mime_type="image/png").count() == 1


def test_it_uploads_several_files_in_one_request(client_in, team):
    files = [
        SimpleUploadedFile(name, data)
        for name, data in (("a.png", samples.png_bytes()), ("b.wav", samples.wav_bytes()), ("c.txt", samples.text_bytes()))
    ]
    response = upload_files(client_in, *files)

    html = response.content.decode()
    assert html.count('class="media-card"') == 2
    assert html.count('class="media-card refused"') == 1
    assert MediaItem.objects.filter(team=team).count() == 2


BAD_FILES = [
    ("corrupt.png", samples.corrupt_png_bytes, "corrupt"),
    ("empty.png", samples.empty_bytes, "empty"),
    ("bomb.png", samples.bomb_png_bytes, "megapixel"),
    ("speech.wav", samples.text_bytes, "not a supported"),
    ("clip.mp4", samples.truncated_mp4_bytes, "The MP4 file is incomplete"),
]


@pytest.mark.parametrize("name,make,reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_it_refuses_bad_files_with_a_reason_and_stores_nothing(client_in, team, stored_blobs, name, make, reason):
    assert reason.strip(), "each bad file names the reason it is refused with ('' is in any page)"
    response = upload(client_in, name, make())

    html = response.content.decode()
    assert response.status_code == 200
    assert "refused" in html and "Nothing was stored" in html
    assert reason.lower() in html.lower()
    assert not MediaItem.objects.exists()
    assert not StoredFile.objects.exists()
    assert stored_blobs() == []


def test_it_refuses_an_upload_over_the_size_limit_while_streaming(client_in, settings, stored_blobs, tmp_path):
    settings.MAX_UPLOAD_MB = 1
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    big = samples.png_bytes() + b"\0" * (2 * 1024 * 1024)

    response = upload(client_in, "big.png", big)

    assert "larger than the 1 MB upload limit" in response.content.decode()
    assert not MediaItem.objects.exists()
    assert stored_blobs() == []
    assert list((tmp_path / "tmp").iterdir()) == []  # the temp file was not kept either


def test_a_viewer_cannot_upload(client, viewer):
    client.force_login(viewer)

    response = upload(client, "a.png", samples.png_bytes())

    assert response.status_code == 403
    assert "read-only" in response.content.decode()
    assert not MediaItem.objects.exists()


def test_upload_requires_login_and_post(client, db):
    assert client.get(reverse("uploads:upload")).status_code in (302, 405)
    response = upload(client, "a.png", samples.png_bytes())
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not MediaItem.objects.exists()


# --- library page --------------------------------------------------------------------------------


def test_library_lists_only_my_teams_items_and_filters(client_in, team):
    make_png(team, "cat.png")
    make_wav(team, "meow.wav")
    make_item(make_team(), samples.jpeg_bytes(), name="secret-other-team.jpg")

    page = client_in.get(reverse("uploads:library")).content.decode()
    assert "cat.png" in page and "meow.wav" in page
    assert "secret-other-team" not in page
    assert "<html" in page

    fragment = client_in.get(
        reverse("uploads:library"), {"kind": "audio"}, headers={**HX, "HX-Target": "media-grid"}
    ).content.decode()
    assert "<html" not in fragment
    assert "meow.wav" in fragment and "cat.png" not in fragment

    searched = client_in.get(reverse("uploads:library"), {"q": "CAT"}).content.decode()
    assert "cat.png" in searched and "meow.wav" not in searched


def test_detail_page_shows_players_and_metadata(client_in, team, wav):
    video = make_item(team, samples.mp4_bytes(), name="clip.mp4")
    audio = wav

    video_page = client_in.get(reverse("uploads:detail", args=[video.pk])).content.decode()
    audio_page = client_in.get(reverse("uploads:detail", args=[audio.pk])).content.decode()

    assert "<video" in video_page and f"{video.width} × {video.height}" in video_page
    assert "<audio" in audio_page and "16000" in audio_page


# --- serving -------------------------------------------------------------------------------------


def test_files_are_served_with_their_true_type_and_nosniff(client_in, team):
    item = make_png(team, "renamed.jpg")

    response = client_in.get(reverse("uploads:file", args=[item.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == samples.png_bytes()


def test_pdfs_are_downloads_not_inline(client_in, team):
    item = make_item(team, samples.pdf_bytes(), name="doc.pdf")

    response = client_in.get(reverse("uploads:file", args=[item.pk]))

    assert response["Content-Disposition"].startswith("attachment")


def test_range_requests_let_players_seek(client_in, team):
    item = make_item(team, samples.mp4_bytes(), name="clip.mp4")
    data = samples.mp4_bytes()

    response = client_in.get(reverse("uploads:file", args=[item.pk]), headers={"Range": "bytes=10-19"})

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert b"".join(response.streaming_content) == data[10:20]


def test_media_of_another_team_is_not_found(client, png):
    item = png
    outsider = make_member(make_team())
    client.force_login(outsider)

    for name in ("uploads:file", "uploads:thumbnail", "uploads:detail"):
        assert client.get(reverse(name, args=[item.pk])).status_code == 404
    assert client.post(reverse("uploads:delete", args=[item.pk])).status_code == 404
    assert MediaItem.objects.filter(pk=item.pk).exists()


def test_anonymous_users_get_no_media(client, png):
    response = client.get(reverse("uploads:file", args=[png.pk]))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- deleting ------------------------------------------------------------------------------------


def test_an_editor_deletes_an_item(client_in, team):
    item = make_png(team, "old.png")

    response = client_in.post(reverse("uploads:delete", args=[item.pk]), follow=True)

    assert not MediaItem.objects.filter(pk=item.pk).exists()
    assert "Deleted “old.png”" in response.content.decode()


def test_a_viewer_cannot_delete(client, viewer, png):
    client.force_login(viewer)

    response = client.post(reverse("uploads:delete", args=[png.pk]))

    assert response.status_code == 403
    assert MediaItem.objects.filter(pk=png.pk).exists()


# --- variants through the page (Celery eager here; tests/test_worker.py uses a real worker) ----


def test_preparing_a_variant_from_the_detail_page(client_in, team, celery_eager, django_capture_on_commit_callbacks):
    item = make_item(team, samples.jpeg_bytes(400, 300), name="photo.jpg")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_in.post(
            reverse("uploads:variant_create", args=[item.pk]),
            {"max_edge": 100, "format": "png", "quality": 85},
            headers=HX,
        )

    assert response.status_code == 200
    variant = MediaVariant.objects.get(source=item.file)
    assert variant.status == MediaVariant.Status.READY
    listing = client_in.get(reverse("uploads:variants", args=[item.pk]), headers=HX)
    assert listing.status_code == 286  # finished: htmx stops polling
    assert "100×75" in listing.content.decode()
    served = client_in.get(reverse("uploads:variant_file", args=[item.pk, variant.pk, 0]))
    image = Image.open(io.BytesIO(b"".join(served.streaming_content)))
    assert (image.format, image.size) == ("PNG", (100, 75))


def test_the_same_variant_is_made_once(team):
    from playground.uploads import services
    from playground.uploads.variants import VariantSpec

    item = make_item(team, samples.jpeg_bytes(400, 300), name="photo.jpg")
    spec = VariantSpec.image(max_edge=50, format="jpeg")

    first = services.get_variant(item, spec)
    second = services.get_variant(item, spec)

    assert first.pk == second.pk
    assert MediaVariant.objects.count() == 1
    assert [vf.file_id for vf in first.ordered_files()] == [vf.file_id for vf in second.ordered_files()]


def test_delete_is_refused_while_a_saved_prompt_version_uses_the_item(client_in, team):
    item = make_png(team, "needed.png")
    doc = {"messages": [{"role": "user", "parts": [{"media": item.pk}]}]}
    make_prompt(team, "Describe the photo", doc=doc, media_items=[item])

    detail = client_in.get(reverse("uploads:detail", args=[item.pk])).content.decode()
    response = client_in.post(reverse("uploads:delete", args=[item.pk]), follow=True)

    assert "Describe the photo v1" in detail
    assert MediaItem.objects.filter(pk=item.pk).exists()
    page = response.content.decode()
    assert "cannot be deleted" in page and "Describe the photo v1" in page
    assert response.redirect_chain[-1][0] == reverse("uploads:detail", args=[item.pk])


def test_base64_of_a_stored_file_is_computed_once_and_reused(team):
    import base64

    item = make_item(team, samples.jpeg_bytes(300, 200), name="photo.jpg")

    path = item.file.base64_path()
    first_mtime = path.stat().st_mtime_ns
    text = item.file.base64_text()

    assert text == base64.b64encode(samples.jpeg_bytes(300, 200)).decode()
    assert item.file.base64_path() == path
    assert path.stat().st_mtime_ns == first_mtime  # not written again


def test_base64_in_chunks_equals_whole_file_encoding(team, monkeypatch):
    import base64

    data = samples.wav_bytes(seconds=3.0)  # ~96 KB: several chunks at the size below
    item = make_item(team, data, name="tone.wav")
    monkeypatch.setattr("playground.uploads.models.BASE64_CHUNK", 3 * 1024)

    assert item.file.base64_text() == base64.b64encode(data).decode()


def test_the_library_page_is_never_cached(client_in):
    # Back after an upload must show the new cards, not the browser's stored copy of the page.
    assert "no-store" in client_in.get(reverse("uploads:library"))["Cache-Control"]


def test_an_unexpected_failure_marks_the_variant_failed_not_pending_forever(team, monkeypatch):
    from playground.uploads import services
    from playground.uploads.variants import VariantSpec

    item = make_item(team, samples.jpeg_bytes(40, 30), name="photo.jpg")
    variant = MediaVariant.objects.create(source=item.file, spec=VariantSpec.image(max_edge=20).key())

    def explode(*args, **kwargs):
        raise RuntimeError("decoder blew up")

    monkeypatch.setattr("playground.uploads.sandbox.run", explode)  # variants are made in a child process
    with pytest.raises(RuntimeError):
        services.make_variant(variant.pk, item.pk)

    variant.refresh_from_db()
    assert variant.status == MediaVariant.Status.FAILED
    assert "unexpectedly" in variant.error


def test_asking_again_requeues_a_failed_or_lost_variant(team, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from playground.uploads import enqueue
    from playground.uploads.variants import VariantSpec

    item = make_item(team, samples.jpeg_bytes(40, 30), name="photo.jpg")
    spec = VariantSpec.image(max_edge=20)
    lost = MediaVariant.objects.create(source=item.file, spec=spec.key())
    MediaVariant.objects.filter(pk=lost.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks() as queued:
        enqueue.request_variant(item, spec)
    assert len(queued) == 1  # the lost task is sent again

    with django_capture_on_commit_callbacks() as queued_again:
        enqueue.request_variant(item, spec)
    assert queued_again == []  # pending and recent: not sent twice


def test_a_large_library_pages_with_show_more(client_in, team, monkeypatch):
    monkeypatch.setattr("playground.uploads.views.LIBRARY_PAGE_SIZE", 2)
    for i in range(5):
        make_png(team, f"pic{i}.png", width=10 + i, height=10)

    first = client_in.get(reverse("uploads:library")).content.decode()
    assert first.count('class="media-card"') == 2
    assert "Show 3 more" in first

    more = client_in.get(
        reverse("uploads:library"), {"page": 2}, headers={**HX, "HX-Target": "more-media"}
    ).content.decode()
    assert "<html" not in more and 'id="media-grid"' not in more
    assert more.count('class="media-card"') == 2 and "Show 1 more" in more

    last = client_in.get(
        reverse("uploads:library"), {"page": 3}, headers={**HX, "HX-Target": "more-media"}
    ).content.decode()
    assert last.count('class="media-card"') == 1 and "more-media" not in last
    shown = {name for page in (first, more, last) for name in (f"pic{i}.png" for i in range(5)) if name in page}
    assert shown == {f"pic{i}.png" for i in range(5)}


def test_show_more_keeps_the_filter(client_in, team, monkeypatch):
    monkeypatch.setattr("playground.uploads.views.LIBRARY_PAGE_SIZE", 1)
    make_wav(team, "a.wav", seconds=0.5)
    make_wav(team, "b.wav", seconds=0.7)
    make_png(team, "c.png")

    page = client_in.get(reverse("uploads:library"), {"kind": "audio"}).content.decode()

    assert "kind=audio" in page and "page=2" in page
    assert "Show 1 more" in page
