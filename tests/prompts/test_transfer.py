"""Export a prompt version as one .zip, import it (or a PROMPT.json) into a team: all or nothing."""

import hashlib
import io
import json
import os
import stat
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from playground.prompts.document import build_prompt, normalize
from playground.prompts.library_source import LibrarySource
from playground.prompts.models import Prompt
from playground.prompts.transfer import ImportRefused, export_version, import_prompt, safe_file_name
from playground.protocols import Target, render
from playground.uploads.models import MediaItem, StoredFile
from tests import media_samples as samples
from tests.factories import make_item, make_png, make_prompt


@pytest.fixture
def media(team, user):
    return {
        "photo": make_png(team, "My photo (1).png", user=user),
        "other": make_item(team, samples.jpeg_bytes(40, 30), "My photo (1).png", user),  # same name, other bytes
        "clip": make_item(team, samples.wav_bytes(seconds=0.5), "clip.wav", user),
        "doc": make_item(team, samples.pdf_bytes(pages=1), "report.pdf", user),
        "linked": MediaItem.objects.create(
            team=team, name="cat.png", kind="image", source=MediaItem.Source.URL_REFERENCE,
            source_url="https://example.com/cat.png", sha256="0" * 64, size=10, mime_type="image/png",
            format="PNG", width=10, height=8,
        ),
    }


@pytest.fixture
def version(team, user, media):
    content = normalize({
        "name": "Analyst",
        "system": "You are a careful visual analyst.",
        "messages": [{"role": "user", "parts": [
            {"text": "Describe {{subject}}."},
            {"media": {"item": media["photo"].pk}, "detail": "high"},
            {"media": {"item": media["other"].pk}},
            {"media": {"item": media["photo"].pk}, "detail": "low"},  # the same item twice: one file
            {"media": {"item": media["doc"].pk}},
            {"media": {"item": media["linked"].pk}, "send": "url"},
            {"media_variable": "sound", "kind": "audio"},
        ]}],
        "variables": {"subject": "the main object", "sound": {"media": {"item": media["clip"].pk}}},
        "options": {"max_tokens": 300, "temperature": 0.2},
    })
    return make_prompt(team, "Visual analyst", user=user, doc=content, media_items=list(media.values())).latest_version()


def chat_body(team, content) -> bytes:
    built = build_prompt(normalize(content), LibrarySource(team))
    assert built.ok, built.issues
    request = render(built.prompt, built.values, Target("chat", "gpt-4o"))
    assert request.ok, (request.refusals, request.problems)
    return request.body_bytes()


def upload(data: bytes, name: str = "prompt.zip") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/zip")


def make_zip(entries: dict, *, compress=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compress) as zf:
        for name, data in entries.items():  # name: a str or a zipfile.ZipInfo
            zf.writestr(name, data)
    return out.getvalue()


def footprint() -> dict:
    media_root = settings.MEDIA_ROOT
    files = sum(len(names) for _, _, names in os.walk(media_root))
    temp = sorted(os.listdir(settings.FILE_UPLOAD_TEMP_DIR))
    return {"prompts": Prompt.objects.count(), "items": MediaItem.objects.count(),
            "stored": StoredFile.objects.count(), "files": files, "temp": temp}


# --- export ----------------------------------------------------------------------------------------


def test_an_export_holds_the_document_with_relative_paths_the_originals_and_a_manifest(version, media):
    with zipfile.ZipFile(io.BytesIO(export_version(version))) as zf:
        names = sorted(zf.namelist())
        doc = json.loads(zf.read("prompt.json"))
        manifest = json.loads(zf.read("manifest.json"))
        parts = doc["messages"][0]["parts"]
        assert [p.get("media") for p in parts[1:5]] == [
            "media/My-photo-1.png", "media/My-photo-1-2.png", "media/My-photo-1.png", "media/report.pdf",
        ]
        assert doc["variables"]["sound"] == {"media": "media/clip.wav"}
        assert parts[5]["media"] == {"url": "https://example.com/cat.png", "kind": "image", "mime_type": "image/png",
                                     "name": "cat.png", "width": 10, "height": 8}
        assert names == ["manifest.json", "media/My-photo-1-2.png", "media/My-photo-1.png", "media/clip.wav",
                         "media/report.pdf", "prompt.json"]
        assert zf.read("media/My-photo-1.png") == media["photo"].file.read_bytes()
        assert (manifest["format_version"], manifest["prompt"], manifest["version"]) == (1, "Visual analyst", 1)
        assert manifest["exported_at"]
        for name in names:
            if name != "manifest.json":
                assert manifest["files"][name] == hashlib.sha256(zf.read(name)).hexdigest()
        assert manifest["media"]["media/My-photo-1-2.png"]["name"] == "My photo (1).png"


@pytest.mark.parametrize("name,mime,expected", [
    ("photo.png", "image/png", ("photo", ".png")),
    ("../../etc/passwd", "", ("passwd", "")),
    ("C:\\Users\\me\\Été 2024.JPG", "image/jpeg", ("Été-2024", ".jpg")),
    ("...", "audio/mpeg", ("media", ".mp3")),
    ("con.wav", "audio/wav", ("_con", ".wav")),
    ("a/b<c>d?.pdf", "application/pdf", ("b_c_d", ".pdf")),
])
def test_export_file_names_are_readable_and_safe(name, mime, expected):
    assert safe_file_name(name, mime) == expected


# --- round trip ------------------------------------------------------------------------------------


def test_export_then_import_into_another_team_gives_the_same_request(version, team, other_team, other_user):
    before = chat_body(team, version.content)

    imported = import_prompt(team=other_team, user=other_user, uploaded_file=upload(export_version(version)))

    assert imported.team == other_team and imported.name == "Analyst"  # the document's own name first
    new_version = imported.latest_version()
    assert new_version.number == 1 and new_version.created_by == other_user
    assert chat_body(other_team, new_version.content) == before
    ids = {i.pk for i in new_version.media_items.all()}
    assert len(ids) == 4 and MediaItem.objects.filter(pk__in=ids, team=other_team).count() == 4
    assert new_version.content["messages"][0]["parts"][1]["media"] == {"item": MediaItem.objects.get(
        team=other_team, sha256=MediaItem.objects.get(pk=version.content["messages"][0]["parts"][1]["media"]["item"]).sha256).pk}


def test_importing_into_the_same_team_reuses_identical_media(version, team, user):
    items_before = MediaItem.objects.filter(team=team).count()

    first = import_prompt(team=team, user=user, uploaded_file=upload(export_version(version)))
    second = import_prompt(team=team, user=user, uploaded_file=upload(export_version(version)))

    assert MediaItem.objects.filter(team=team).count() == items_before
    assert first.pk != second.pk and Prompt.objects.filter(team=team).count() == 3
    assert set(first.latest_version().media_items.all()) == set(version.media_items.exclude(source="url_reference"))
    assert chat_body(team, first.latest_version().content) == chat_body(team, version.content)


def test_a_plain_prompt_json_with_url_media_imports(team, user):
    doc = {"messages": [{"role": "user", "parts": [
        {"text": "What is this?"},
        {"media": {"url": "https://example.com/a.png", "kind": "image", "mime_type": "image/png"}, "send": "url"},
    ]}]}

    prompt = import_prompt(team=team, user=user, uploaded_file=upload(json.dumps(doc).encode(), "Look here.json"))

    assert prompt.name == "Look here"
    assert prompt.latest_version().content == normalize(doc)
    assert not prompt.latest_version().media_items.exists()


def test_the_manifest_names_the_prompt_when_the_document_does_not(team, user):
    data = make_zip({"manifest.json": json.dumps({"format_version": 1, "prompt": "From manifest"}),
                     "prompt.json": json.dumps({"messages": [{"role": "user", "parts": [{"text": "hi"}]}]})})

    assert import_prompt(team=team, user=user, uploaded_file=upload(data)).name == "From manifest"


# --- refusals leave nothing behind ---------------------------------------------------------------------


def _symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("media/link.png")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


PROMPT_WITH = lambda *files: json.dumps(  # noqa: E731
    {"messages": [{"role": "user", "parts": [{"text": "x"}] + [{"media": f} for f in files]}]})


@pytest.mark.parametrize("make,words", [
    (lambda: b"\x00\x01 definitely not a prompt", "neither a prompt export"),
    (lambda: b'{"messages": [', "not valid JSON"),
    (lambda: json.dumps({"mesages": []}).encode(), "Unknown top-level key"),
    (lambda: make_zip({"notes.txt": "hello"}), "no prompt.json"),
    (lambda: make_zip({"prompt.json": "{oops"}), "prompt.json is not valid JSON"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH("media/a.png"), "../a.png": samples.png_bytes()}), "plain relative path"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH("/tmp/a.png"), "/tmp/a.png": samples.png_bytes()}), "plain relative path"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH("../../x.png")}), "inside the prompt's folder"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH("media/link.png"), _symlink_entry(): "/etc/passwd"}), "symbolic link"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH("media/missing.png")}), "media/missing.png: no such file"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH({"item": 1})}), "points into a Prism library"),
    (lambda: json.dumps(json.loads(PROMPT_WITH("photo.png"))).encode(), "only by URL"),
    (lambda: make_zip({"prompt.json": "{}", "manifest.json": json.dumps({"format_version": 99})}), "format version 99"),
    (lambda: make_zip({"prompt.json": PROMPT_WITH("media/good.png")})[:-30], "damaged"),
])
def test_bad_files_are_refused_with_a_reason(team, user, make, words):
    before = footprint()

    with pytest.raises(ImportRefused, match=words):
        import_prompt(team=team, user=user, uploaded_file=upload(make()))

    assert footprint() == before


def test_corrupt_media_is_refused_by_name_and_the_good_media_is_not_stored_either(team, user):
    data = make_zip({
        "prompt.json": PROMPT_WITH("media/good.png", "media/broken.png"),
        "media/good.png": samples.png_bytes(30, 20),
        "media/broken.png": samples.corrupt_png_bytes(),
    })
    before = footprint()

    with pytest.raises(ImportRefused, match=r"^media/broken.png: "):
        import_prompt(team=team, user=user, uploaded_file=upload(data))

    assert footprint() == before


def test_a_zip_bomb_is_refused_before_extracting(team, user, settings):
    settings.MAX_UPLOAD_BYTES = 1024 * 1024
    bomb = make_zip({"prompt.json": PROMPT_WITH("media/zeros.wav"), "media/zeros.wav": b"\0" * (8 * 1024 * 1024)})
    assert len(bomb) < 20_000
    before = footprint()

    with pytest.raises(ImportRefused, match="unpacks to more than 1 MB"):
        import_prompt(team=team, user=user, uploaded_file=upload(bomb))

    assert footprint() == before


def test_an_archive_whose_header_understates_an_entry_is_stopped_while_extracting(team, user):
    real = make_zip({"prompt.json": PROMPT_WITH(), "media/zeros.bin": b"\0" * 200_000})
    # Rewrite the central directory's uncompressed size of the second entry to a lie (1 KB).
    lied = bytearray(real)
    cd = lied.rfind(b"PK\x01\x02")
    lied[cd + 24:cd + 28] = (1024).to_bytes(4, "little")
    before = footprint()

    with pytest.raises(ImportRefused, match="damaged|more than the archive says"):
        import_prompt(team=team, user=user, uploaded_file=upload(bytes(lied)))

    assert footprint() == before


def test_too_many_entries_are_refused(team, user):
    data = make_zip({"prompt.json": PROMPT_WITH(), **{f"media/{i}.txt": "x" for i in range(300)}})

    with pytest.raises(ImportRefused, match="301 members"):
        import_prompt(team=team, user=user, uploaded_file=upload(data))

    assert not Prompt.objects.exists()
