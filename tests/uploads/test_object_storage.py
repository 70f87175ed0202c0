"""Media in an S3-compatible bucket (team scale): bin/test's team pass runs the whole suite with
media in moto's S3 server on loopback (tests/s3_server.py). These tests look at the bucket itself:
an upload lands there and not on disk, a variant made by the real worker is stored there, a run
sends the bucket object's bytes as base64, serving streams ranges from it (or redirects to a
presigned GET), and deleting then pruning removes the object.

On the embedded pass (local media folder) they are skipped; test_media_cache.py runs on both.
"""

import base64
import json
import shutil
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from django.conf import settings
from django.db import transaction
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from playground.lib.env import bucket_origins
from playground.lib.serving import serve_stored_file
from playground.runs import bodies
from playground.runs import services as runs_services
from playground.runs.models import Result, Run
from playground.uploads import blobs, enqueue, services
from playground.uploads.models import MediaItem, MediaVariant, blob_name
from playground.uploads.variants import VariantSpec
from tests import media_samples as samples
from tests.conftest import wait_for
from tests.factories import doc_with, make_png, make_version, model_for
from tests.uploads.posts import upload

pytestmark = pytest.mark.skipif(
    not settings.PRISM_S3_BUCKET, reason="media in a bucket: bin/test's team pass (PRISM_S3_BUCKET, moto on loopback)"
)


def s3():
    options = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client("s3", endpoint_url=options["endpoint_url"], region_name=options["region_name"])


def bucket_bytes(sha: str) -> bytes:
    return s3().get_object(Bucket=settings.PRISM_S3_BUCKET, Key=blob_name(sha))["Body"].read()


def in_bucket(sha: str) -> bool:
    try:
        s3().head_object(Bucket=settings.PRISM_S3_BUCKET, Key=blob_name(sha))
        return True
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("404", "NoSuchKey"), exc.response
        return False


def empty_cache() -> None:
    shutil.rmtree(settings.PRISM_MEDIA_CACHE_DIR, ignore_errors=True)


def cached(sha: str) -> bool:
    return blobs.cache_path(sha).exists()


# --- upload → variant (by the worker) → run -----------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_an_upload_goes_to_the_bucket_its_variant_too_and_a_run_sends_the_objects_bytes(
    client_logged_in, team, user, media_worker, runs_worker, provider_server
):
    photo = samples.jpeg_bytes(400, 300)
    assert upload(client_logged_in, "photo.jpg", photo).status_code == 200
    item = MediaItem.objects.get(team=team)

    # In the bucket, byte for byte, thumbnail too; nothing in the local media folder.
    assert bucket_bytes(item.file_id) == photo and item.thumbnail_id and in_bucket(item.thumbnail_id)
    assert not (settings.MEDIA_ROOT / "blobs").exists()

    # The worker makes the variant from the bucket (this machine's cache emptied first) and stores it there.
    empty_cache()
    spec = VariantSpec.image(max_edge=64, format="png")
    with transaction.atomic():
        variant = enqueue.request_variant(item, spec)
    wait_for(lambda: MediaVariant.objects.get(pk=variant.pk).status != MediaVariant.Status.PENDING, 60,
             "the variant", media_worker.log)
    variant.refresh_from_db()
    assert variant.status == MediaVariant.Status.READY, variant.error
    [made] = variant.ordered_files()
    png = bucket_bytes(made.file_id)
    assert png.startswith(b"\x89PNG") and made.details["width"] == 64
    # The worker ("another machine": a cache folder of its own) downloaded the original from the bucket.
    worker_cache = settings.DATA_DIR / "worker-cache"
    assert (worker_cache / item.file_id[:2] / item.file_id).read_bytes() == photo
    assert not cached(item.file_id) and not cached(made.file_id)  # nothing came through this process's cache

    # A run of a prompt sending that variant: the provider gets the bucket object's base64.
    empty_cache()
    version = make_version(team, doc_with({"text": "What is this?"},
                                          {"media": {"item": item.pk}, "variant": {"format": "png", "max_edge": 64}}),
                           user, media_items=[item])
    runs_worker.start()
    run = runs_services.start_run(version=version, values={}, provider_models=[model_for(team, provider_server, "chat")],
                                  user=user, team=team)
    wait_for(lambda: Run.objects.get(pk=run.pk).status == Run.Status.DONE, 60, "the run", runs_worker.log)
    result = run.results.get()
    assert result.status == Result.Status.SUCCEEDED, result.error_message
    [received] = provider_server.received
    [image] = [p for p in received.body["messages"][-1]["content"] if p["type"] == "image_url"]
    assert image["image_url"]["url"] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert base64.b64encode(photo) not in json.dumps(received.body).encode()  # the variant was sent, not the original
    # The runs worker read the variant's base64 from its own copy of the bucket's object.
    assert (worker_cache / made.file_id[:2] / f"{made.file_id}.b64").read_bytes() == base64.b64encode(png)


@pytest.mark.django_db
def test_stored_files_come_back_through_a_local_copy_named_by_content(team):
    item = make_png(team, width=80, height=60)
    empty_cache()

    path = item.file.local_path()  # downloaded into this machine's cache

    assert path == blobs.cache_path(item.file_id) and path.read_bytes() == samples.png_bytes(80, 60)
    assert item.file.base64_path().read_bytes() == base64.b64encode(path.read_bytes())
    assert item.file.base64_path().name == f"{item.file_id}.b64"  # runs/bodies.py reads the reference from it
    with pytest.raises(NotImplementedError, match="local_path"):
        item.file.path  # noqa: B018 - there is no media folder file to name


@pytest.mark.django_db
def test_a_download_that_does_not_match_its_name_is_refused(team):
    item = make_png(team)
    s3().put_object(Bucket=settings.PRISM_S3_BUCKET, Key=blob_name(item.file_id), Body=b"not the same bytes")
    empty_cache()

    with pytest.raises(OSError, match="does not match its sha256"):
        item.file.local_path()
    assert not cached(item.file_id) and not list(settings.PRISM_MEDIA_CACHE_DIR.rglob("*.tmp"))


@pytest.mark.django_db
def test_a_request_fetches_its_media_before_it_reaches_the_dispatcher(team, user, provider_server):
    """StoredRequest.for_result runs in the task's thread: a cold copy is downloaded there, not in the
    event loop every call shares, and a file gone from the bucket fails the result before sending."""
    item = make_png(team, width=40, height=30)
    version = make_version(team, doc_with({"text": "What is this?"}, {"media": {"item": item.pk}}), user,
                           media_items=[item])
    run = runs_services.start_run(version=version, values={}, provider_models=[model_for(team, provider_server, "chat")],
                                  user=user, team=team)  # its task goes after a commit that never comes here
    result = run.results.get()
    empty_cache()

    request = bodies.StoredRequest.for_result(result)

    assert blobs.cache_path(item.file_id, ".b64").read_bytes() == base64.b64encode(samples.png_bytes(40, 30))
    assert base64.b64encode(samples.png_bytes(40, 30)) in request.body_bytes()
    s3().delete_object(Bucket=settings.PRISM_S3_BUCKET, Key=blob_name(item.file_id))
    empty_cache()
    with pytest.raises(bodies.BodyError, match="missing from the media storage"):
        bodies.StoredRequest.for_result(result)


# --- serving ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_media_are_served_through_prism_with_ranges_streamed_from_the_bucket(client_logged_in, team):
    data = samples.wav_bytes(seconds=1.0)
    assert upload(client_logged_in, "tone.wav", data).status_code == 200
    item = MediaItem.objects.get(team=team)
    empty_cache()
    url = reverse("uploads:file", args=[item.pk])

    part = client_logged_in.get(url, headers={"Range": "bytes=100-1099"})
    whole = client_logged_in.get(url)
    tail = client_logged_in.get(url, headers={"Range": "bytes=-10"})
    beyond = client_logged_in.get(url, headers={"Range": f"bytes={len(data)}-"})

    assert part.status_code == 206 and part["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert b"".join(part.streaming_content) == data[100:1100] and part["Content-Length"] == "1000"
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == data
    assert whole["Content-Type"] == "audio/wav" and whole["Content-Disposition"].startswith("inline")
    assert b"".join(tail.streaming_content) == data[-10:] and beyond.status_code == 416
    assert not cached(item.file_id)  # streamed from the bucket, no local copy made


@pytest.mark.django_db
def test_signed_urls_redirect_to_a_presigned_get_that_expires(client_logged_in, team, settings):
    settings.PRISM_S3_SIGNED_URLS = True
    item = make_png(team, width=80, height=60)

    response = client_logged_in.get(reverse("uploads:file", args=[item.pk]))

    assert response.status_code == 302 and response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Signature"]
    assert query["response-content-type"] == ["image/png"]
    assert query["response-content-disposition"] == ["inline; filename*=UTF-8''photo.png"]
    got = httpx.get(location)
    assert got.status_code == 200 and got.content == samples.png_bytes(80, 60)
    assert got.headers["content-type"] == "image/png" and got.headers["content-disposition"].startswith("inline")
    # The page's Content-Security-Policy lets images and players load from that origin.
    split = urlsplit(location)
    assert bucket_origins(settings.PRISM_S3_BUCKET, settings.STORAGES["default"]["OPTIONS"]) == [
        f"{split.scheme}://{split.netloc}"
    ]
    # A view that does not ask for it (a share link: access must end when the link does) streams instead.
    streamed = serve_stored_file(RequestFactory().get("/"), item.file, filename="photo.png")
    assert streamed.status_code == 200 and b"".join(streamed.streaming_content) == samples.png_bytes(80, 60)
    # Never public: the object carries no grant to everyone.
    grants = s3().get_object_acl(Bucket=settings.PRISM_S3_BUCKET, Key=blob_name(item.file_id))["Grants"]
    assert not [g for g in grants if "AllUsers" in str(g.get("Grantee", {}).get("URI", ""))]


@pytest.mark.django_db
def test_a_file_missing_from_the_bucket_is_a_404_not_a_500(client_logged_in, team):
    item = make_png(team)
    s3().delete_object(Bucket=settings.PRISM_S3_BUCKET, Key=blob_name(item.file_id))

    assert client_logged_in.get(reverse("uploads:file", args=[item.pk])).status_code == 404


# --- deleting and pruning -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deleting_an_item_then_pruning_removes_its_objects_from_the_bucket(client_logged_in, team):
    keep = make_png(team, "keep.png", width=30, height=20)
    gone = make_png(team, "gone.png", width=50, height=40)
    gone.file.local_path(), gone.file.base64_path()  # cached on this machine
    sha, thumb = gone.file_id, gone.thumbnail_id

    assert client_logged_in.post(reverse("uploads:delete", args=[gone.pk])).status_code == 302
    assert in_bucket(sha)  # the bytes stay until pruned: another item may share them
    pruned = services.prune_unused_files(before=timezone.now() + timedelta(hours=1))

    assert pruned.files == 2 and not in_bucket(sha) and not in_bucket(thumb)
    assert not cached(sha) and not blobs.cache_path(sha, ".b64").exists()
    assert in_bucket(keep.file_id) and in_bucket(keep.thumbnail_id)
    assert client_logged_in.get(reverse("uploads:file", args=[keep.pk])).status_code == 200
