"""Rough edges of the media library a new user hit (issue 12, items 2 and 10): HEIC/TIFF items
shown through a converted copy, "already in your library", variants named in words, listed once
per output, deleted (or refused with the reason), and PDFs paged through on their item page."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from playground.uploads import services
from playground.uploads.models import MediaItem, MediaVariant, StoredFile
from playground.uploads.variants import VariantSpec, canonical, describe
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import doc_with, make_item, make_member, make_prompt
from tests.uploads.posts import upload

pytestmark = pytest.mark.usefixtures("media_dir")


# --- 2. HEIC and TIFF: a converted preview --------------------------------------------------------

IMAGES_BROWSERS_CANNOT_SHOW = [
    pytest.param(samples.tiff_bytes, "photo.tiff", id="tiff"),
    pytest.param(samples.heic_bytes, "photo.heic", id="heic",
                 marks=pytest.mark.skipif(not samples.heic_supported(), reason="no HEIC encoder here")),
]


@pytest.mark.parametrize("make,name", IMAGES_BROWSERS_CANNOT_SHOW)
def test_a_heic_or_tiff_item_page_shows_a_converted_preview_and_offers_the_original(client_in, team, make, name,
                                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        upload(client_in, name, make(64, 48))
    item = MediaItem.objects.get(team=team)
    assert services.needs_preview(item)
    # The upload queued the preview (a WebP copy) for the worker.
    variant = MediaVariant.objects.get(source=item.file, spec=services.variant_key(item, services.PREVIEW_SPEC))
    assert len(queued) == 1 and variant.status == MediaVariant.Status.PENDING
    file_url = reverse("uploads:file", args=[item.pk])

    # Before it is made: the thumbnail (a WebP the browser draws), never the original as <img>.
    html = client_in.get(reverse("uploads:detail", args=[item.pk])).content.decode()
    assert f'<img src="{file_url}"' not in html
    assert f'src="{reverse("uploads:thumbnail", args=[item.pk])}"' in html
    assert f'href="{file_url}" download>Download the original' in html

    services.make_variant(variant.pk, item.pk)
    html = client_in.get(reverse("uploads:detail", args=[item.pk])).content.decode()
    preview_url = reverse("uploads:variant_file", args=[item.pk, variant.pk, 0])
    assert f'class="converted-preview" src="{preview_url}"' in html
    assert f'<img src="{file_url}"' not in html
    body = b"".join(client_in.get(preview_url).streaming_content)
    im = Image.open(io.BytesIO(body))
    assert (im.format, im.size) == ("WEBP", (64, 48))
    # The original is still downloadable, byte for byte.
    original = client_in.get(file_url)
    assert b"".join(original.streaming_content) == make(64, 48)


def test_a_png_item_page_shows_the_png_itself(client_in, team):
    upload(client_in, "photo.png", samples.png_bytes())
    item = MediaItem.objects.get(team=team)
    assert not services.needs_preview(item)
    assert not MediaVariant.objects.exists()
    html = client_in.get(reverse("uploads:detail", args=[item.pk])).content.decode()
    assert f'<img src="{reverse("uploads:file", args=[item.pk])}"' in html


# --- 10. "Already in your library" ----------------------------------------------------------------


def test_a_duplicate_upload_in_the_library_says_already_in_your_library(client_in, team):
    upload(client_in, "a.png", samples.png_bytes())
    html = upload(client_in, "b.png", samples.png_bytes()).content.decode()
    assert "Already in your library as “a.png”" in html
    assert "nothing new was stored" in html


def test_a_duplicate_upload_in_the_editor_says_so_and_offers_the_item_instead_of_picking_it_silently(client_in, team):
    existing = make_item(team, samples.png_bytes(), name="first.png")
    prompt = make_prompt(team, "Pictures")
    response = client_in.post(
        reverse("prompts:upload", args=[prompt.pk]),
        {"file": SimpleUploadedFile("again.png", samples.png_bytes()), "target": "m-0-new"},
        headers={**HX, "HX-Target": "picker-upload-result"},
    )
    html = response.content.decode()
    assert "“first.png” is already in your library" in html
    assert f'value="m-0-new|{existing.pk}"' in html and ">Use it</button>" in html
    assert "auto-pick" not in html
    assert MediaItem.objects.filter(team=team).count() == 1

    # A new file is still put into the prompt at once.
    html = client_in.post(
        reverse("prompts:upload", args=[prompt.pk]),
        {"file": SimpleUploadedFile("new.wav", samples.wav_bytes()), "target": "m-0-new"},
        headers={**HX, "HX-Target": "picker-upload-result"},
    ).content.decode()
    assert "auto-pick" in html and "already in your library" not in html


# --- 10. variants in words -----------------------------------------------------------------------


@pytest.mark.parametrize("spec,words", [
    (VariantSpec.keyframes(count=8), "8 key frames, JPEG"),
    (VariantSpec.keyframes(count=1, max_edge=768), "1 key frame up to 768 px, JPEG"),
    (VariantSpec.image(max_edge=1024, format="jpeg"), "Resized to 1024 px, JPEG q85"),
    (VariantSpec.image(format="png"), "Full size, PNG"),
    (VariantSpec.image(max_edge=2048, format="webp", quality=70), "Resized to 2048 px, WebP q70"),
    (VariantSpec.audio(format="wav", sample_rate=16000, channels=1), "16 kHz mono WAV"),
    (VariantSpec.audio(format="mp3", sample_rate=44100, channels=2), "44.1 kHz stereo MP3, 128 kb/s"),
    (VariantSpec.audio(), "MP3, 128 kb/s"),
])
def test_a_variant_spec_reads_as_words(spec, words):
    assert describe(spec) == words


def test_the_item_page_names_variants_in_words_with_the_spec_only_as_a_tooltip(client_in, team):
    item = make_item(team, samples.png_bytes(640, 480), name="photo.png")
    variant = services.get_variant(item, VariantSpec.image(max_edge=100, format="jpeg"))
    html = client_in.get(reverse("uploads:detail", args=[item.pk])).content.decode()
    assert f'<span class="variant-name" title="{variant.spec}">Resized to 100 px, JPEG q85</span>' in html
    assert f"<code>{variant.spec}</code>" not in html


# --- 10. one variant per output ------------------------------------------------------------------


def test_specs_that_make_the_same_bytes_are_one_variant(team):
    jpeg = make_item(team, samples.jpeg_bytes(640, 480), name="photo.jpg")
    keep = services.get_variant(jpeg, VariantSpec.image(max_edge=320))  # "Keep format": a JPEG
    same = services.get_variant(jpeg, VariantSpec.image(max_edge=320, format="jpeg"))
    assert keep.pk == same.pk
    # A max edge past the picture's size enlarges nothing: the same as no max edge.
    assert services.get_variant(jpeg, VariantSpec.image(max_edge=4000, format="png")).pk == \
        services.get_variant(jpeg, VariantSpec.image(format="png")).pk
    wav = make_item(team, samples.wav_bytes(seconds=0.5, rate=16000), name="tone.wav")
    assert services.get_variant(wav, VariantSpec.audio(format="wav", sample_rate=16000)).pk == \
        services.get_variant(wav, VariantSpec.audio(format="wav")).pk
    assert MediaVariant.objects.count() == 3
    assert [v.pk for v in services.variants_of(jpeg)] == sorted({keep.pk, MediaVariant.objects.filter(
        source=jpeg.file).exclude(pk=keep.pk).get().pk}, reverse=True)


def test_rows_kept_under_an_older_key_of_the_same_output_are_listed_once(team):
    item = make_item(team, samples.jpeg_bytes(640, 480), name="photo.jpg")
    made = services.get_variant(item, VariantSpec.image(max_edge=320, format="jpeg"))
    # As keys were before they were canonical: "keep the format" of a JPEG, stored as its own row.
    old = MediaVariant.objects.create(source=item.file, spec=VariantSpec.image(max_edge=320).key())
    assert old.spec != made.spec
    assert canonical(VariantSpec.parse(old.spec), services.media_info(item)).key() == made.spec
    listed = services.variants_of(item)
    assert [v.pk for v in listed] == [made.pk]
    assert [v.pk for v in listed[0].same_output] == [old.pk]


# --- 10. deleting a variant ----------------------------------------------------------------------


def _delete(client, item, variant):
    return client.post(reverse("uploads:variant_delete", args=[item.pk, variant.pk]))


def test_an_editor_deletes_a_variant_and_its_file_leaves_storage(client_in, team, stored_blobs):
    item = make_item(team, samples.png_bytes(640, 480), name="photo.png")
    variant = services.get_variant(item, VariantSpec.image(max_edge=100, format="jpeg"))
    [made] = variant.ordered_files()
    assert made.file_id in {p.name for p in stored_blobs()}

    response = _delete(client_in, item, variant)
    assert response.status_code == 302
    assert not MediaVariant.objects.filter(pk=variant.pk).exists()
    assert not StoredFile.objects.filter(pk=made.file_id).exists()
    assert made.file_id not in {p.name for p in stored_blobs()}
    assert item.file_id in {p.name for p in stored_blobs()}  # the original stays
    page = client_in.get(reverse("uploads:detail", args=[item.pk])).content.decode()
    assert "Variant deleted." in page


def _solid(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(buf, fmt)
    return buf.getvalue()


def test_a_file_another_variant_also_holds_stays_in_storage(team, stored_blobs):
    # The same flat red picture as PNG and as BMP: different bytes, the same 16 px PNG copy.
    item = make_item(team, _solid("PNG"), name="red.png")
    other = make_item(team, _solid("BMP"), name="red.bmp")
    a = services.get_variant(item, VariantSpec.image(max_edge=16, format="png"))
    b = services.get_variant(other, VariantSpec.image(max_edge=16, format="png"))
    shared = a.ordered_files()[0].file_id
    assert b.ordered_files()[0].file_id == shared and a.source_id != b.source_id
    services.delete_variant(item, a)
    assert not MediaVariant.objects.filter(pk=a.pk).exists()
    assert StoredFile.objects.filter(pk=shared).exists() and shared in {p.name for p in stored_blobs()}
    services.delete_variant(other, b)
    assert not StoredFile.objects.filter(pk=shared).exists() and shared not in {p.name for p in stored_blobs()}


def test_a_viewer_cannot_delete_a_variant_and_another_team_gets_404(client, team, other_team, viewer):
    item = make_item(team, samples.png_bytes(640, 480), name="photo.png")
    variant = services.get_variant(item, VariantSpec.image(max_edge=100, format="jpeg"))
    client.force_login(viewer)
    assert _delete(client, item, variant).status_code == 403
    client.force_login(make_member(other_team))
    assert _delete(client, item, variant).status_code == 404
    assert MediaVariant.objects.filter(pk=variant.pk).exists()


def test_deleting_a_variant_a_saved_version_asks_for_is_refused_naming_the_version(client_in, team):
    item = make_item(team, samples.png_bytes(640, 480), name="photo.png")
    doc = doc_with({"media": {"item": item.pk}, "variant": {"max_edge": 100, "format": "jpeg"}}, name="Caption it")
    make_prompt(team, doc=doc, media_items=[item])
    variant = services.get_variant(item, VariantSpec.image(max_edge=100, format="jpeg"))
    unused = services.get_variant(item, VariantSpec.image(max_edge=50, format="jpeg"))

    response = _delete(client_in, item, variant)
    assert MediaVariant.objects.filter(pk=variant.pk).exists()
    page = client_in.get(response.url).content.decode()
    assert "“Resized to 100 px, JPEG q85” is still used, so it was kept: the saved version “Caption it v1”" in page
    _delete(client_in, item, unused)
    assert not MediaVariant.objects.filter(pk=unused.pk).exists()


def test_deleting_a_variant_a_runs_stored_request_sent_is_refused(team):
    from playground.runs.models import RequestBody, RequestBodyFile

    item = make_item(team, samples.png_bytes(640, 480), name="photo.png")
    variant = services.get_variant(item, VariantSpec.image(max_edge=100, format="jpeg"))
    body = RequestBody.objects.create(sha256="b" * 64, size=10, pieces=["{}"])
    RequestBodyFile.objects.create(body=body, file=variant.ordered_files()[0].file)
    with pytest.raises(services.VariantInUse, match="a run's stored request sent it"):
        services.delete_variant(item, variant)
    assert MediaVariant.objects.filter(pk=variant.pk).exists()


# --- 10. paging through a PDF --------------------------------------------------------------------


def _webp(response) -> Image.Image:
    return Image.open(io.BytesIO(response.content))


@pytest.fixture
def drawings(monkeypatch):
    """How many times a page was drawn in the sandbox (services._variant_outputs, counted)."""
    from django.core.cache import cache

    cache.clear()
    calls = []
    real = services._variant_outputs

    def counted(path, info, spec):
        calls.append(spec.key())
        return real(path, info, spec)

    monkeypatch.setattr(services, "_variant_outputs", counted)
    yield calls
    cache.clear()


def test_a_pdf_item_page_pages_through_with_prev_next_and_a_page_count(client_in, team):
    item = make_item(team, samples.pdf_bytes(pages=3), name="brief.pdf")
    detail = reverse("uploads:detail", args=[item.pk])
    html = client_in.get(detail).content.decode()
    assert "Page 1 of 3" in html and 'href="?page=2">Next →' in html and 'aria-disabled="true">← Prev' in html
    html = client_in.get(detail, {"page": 2}).content.decode()
    assert "Page 2 of 3" in html and 'href="?page=1">← Prev' in html and 'href="?page=3">Next →' in html
    assert f'src="{reverse("uploads:page", args=[item.pk, 2])}"' in html
    html = client_in.get(detail, {"page": 99}).content.decode()
    assert "Page 3 of 3" in html and 'aria-disabled="true">Next →' in html
    assert "Page 1 of 3" in client_in.get(detail, {"page": "x"}).content.decode()


def test_a_pdf_page_is_drawn_once_under_the_sandbox_and_cached_without_writing_a_row(client_in, team, drawings):
    item = make_item(team, samples.pdf_bytes(pages=3), name="brief.pdf")
    response = client_in.get(reverse("uploads:page", args=[item.pk, 2]))
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "private, max-age=86400"
    im = _webp(response)
    assert im.format == "WEBP" and max(im.size) == services.PDF_PAGE_EDGE
    assert client_in.get(reverse("uploads:page", args=[item.pk, 2])).content == response.content
    assert drawings == [services.pdf_page_spec(2).key()]  # drawn once, then from the cache
    assert client_in.get(reverse("uploads:page", args=[item.pk, 3])).status_code == 200
    assert len(drawings) == 2
    assert not MediaVariant.objects.exists()  # a GET: viewers page through PDFs too
    assert client_in.get(reverse("uploads:page", args=[item.pk, 4])).status_code == 404
    assert client_in.get(reverse("uploads:page", args=[item.pk, 0])).status_code == 404


def test_a_viewer_pages_through_a_pdf(client, team, viewer, drawings):
    item = make_item(team, samples.pdf_bytes(pages=2), name="brief.pdf")
    client.force_login(viewer)
    assert "Page 2 of 2" in client.get(reverse("uploads:detail", args=[item.pk]), {"page": 2}).content.decode()
    assert client.get(reverse("uploads:page", args=[item.pk, 2])).status_code == 200


def test_a_pdf_page_of_another_team_is_404(client, team, other_team, drawings):
    item = make_item(team, samples.pdf_bytes(pages=2), name="brief.pdf")
    client.force_login(make_member(other_team))
    assert client.get(reverse("uploads:page", args=[item.pk, 1])).status_code == 404
    assert drawings == []


def test_a_pdf_page_over_the_decode_memory_limit_is_refused_with_the_reason(client_in, team, settings, drawings):
    item = make_item(team, samples.pdf_bytes(pages=2), name="brief.pdf")
    settings.PRISM_DECODE_MAX_MB = 1  # far too little to draw a 1400 px page
    response = client_in.get(reverse("uploads:page", args=[item.pk, 1]))
    assert response.status_code == 422
    assert "memory" in response.content.decode()


def test_a_ready_row_under_an_older_key_still_serves_prompts(team):
    """Deployments have rows made before keys were canonical: previews (GET, reads only) find them."""
    item = make_item(team, samples.jpeg_bytes(640, 480), name="photo.jpg")
    spec = VariantSpec.image(max_edge=320)  # "keep the format": kept as "image:max_edge=320;quality=85" before
    made = services.get_variant(item, spec)
    MediaVariant.objects.filter(pk=made.pk).update(spec=spec.key())
    assert services.ready_variant(item, spec).pk == made.pk
    assert services.get_variant(item, spec).pk == made.pk
    assert MediaVariant.objects.count() == 1
