"""Remake the README's screenshots: docs/screenshot-library.png and docs/screenshot-detail.png.

    .venv/bin/python -m tests.browser.make_screenshots [--out docs] [--dark] [--review DIR]

Builds a throwaway Prism (its own data folder and SQLite database), seeds a realistic library
(the demo media plus a few samples from tests/media_samples), serves it with Django's live-server
thread and photographs it with headless Chromium (PRISM_CHROMIUM, default /usr/bin/chromium) at
1400×900. One upload of a text file named .wav goes through the real page first, so the Library
shows a refused card as a user would see it.

--review DIR also saves the states worth eyeballing after a UI change (empty library, the drop
overlay, an upload in progress, dark mode, a narrow window) into DIR.

Not collected by pytest (the file name does not start with test_).
"""

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEWPORT = {"width": 1400, "height": 900}
USERNAME, PASSWORD = "maya", "screenshots-only"
# The same flags as the browser tests (tests/browser/conftest.py).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


def _prepare_django(data_dir: Path) -> None:
    # A private Prism: nothing from the developer's environment or var/ folder.
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "PRISM_PRODUCTION", "SECURE_COOKIES", "SECURE_SSL_REDIRECT"):
        os.environ.pop(name, None)
    os.environ["PRISM_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "playground.settings"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _seed() -> None:
    from playground.accounts.models import Membership
    from playground.lib.demo_media import DEMO_FILES
    from tests import media_samples as samples
    from tests.factories import make_item, make_member, make_team

    make_member(make_team(name="New team"), Membership.Role.EDITOR, username="newcomer", password=PASSWORD)
    team = make_team(name="Vision evals")
    user = make_member(team, Membership.Role.OWNER, username=USERNAME, password=PASSWORD)
    extra = [
        ("receipt-scan-2024-11-03-supermarket-long-file-name-from-phone.jpg", samples.photo_jpeg_bytes(1200, 1600)),
        ("loading-spinner.gif", samples.gif_bytes(96, 72, frames=6)),
        ("voice-memo.mp3", samples.mp3_bytes(seconds=14.0)),
        ("screen-recording.webm", samples.webm_bytes(seconds=2.0, width=320, height=180)),
        ("contract-scan.pdf", samples.pdf_bytes(pages=12)),
    ]
    # Oldest first: the library lists the newest first, so the demo files end up on top.
    for name, data in extra:
        make_item(team, data, name=name, user=user)
    for name, make in DEMO_FILES:
        make_item(team, make(), name=name, user=user)


class _Server:
    """Django's live-server thread (static files included) on a free port."""

    def __init__(self):
        from django.conf import settings
        from django.contrib.staticfiles.handlers import StaticFilesHandler
        from django.test.testcases import LiveServerThread

        media_url = settings.MEDIA_URL
        settings.MEDIA_URL = "/__live-server-media-unused__/"  # None breaks the live server's media handler
        self.thread = LiveServerThread("localhost", StaticFilesHandler, port=0)
        self.thread.daemon = True
        self.thread.start()
        self.thread.is_ready.wait()
        settings.MEDIA_URL = media_url
        if self.thread.error:
            raise self.thread.error
        self.url = f"http://localhost:{self.thread.port}"

    def stop(self):
        self.thread.terminate()


def _log_in(page, username: str = USERNAME) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/library/")


def _wait_for_images(page, everywhere: bool = False) -> None:
    """Wait until the pictures on screen (or, with everywhere, on the whole page) have loaded."""
    if everywhere:
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function(
        """() => Array.from(document.images)
                      .filter(img => img.getBoundingClientRect().top < innerHeight || img.loading !== 'lazy')
                      .every(img => img.complete && img.naturalWidth > 0)"""
    )


def _refuse_a_text_file(page) -> None:
    from tests import media_samples as samples

    page.set_input_files(
        "#file-input", [{"name": "interview-notes.wav", "mimeType": "audio/wav", "buffer": samples.text_bytes()}]
    )
    page.wait_for_selector("#upload-queue .media-card.refused")


def _library_and_detail(page, out: Path, suffix: str = "") -> None:
    _log_in(page)
    _refuse_a_text_file(page)
    _wait_for_images(page)
    page.screenshot(path=str(out / f"screenshot-library{suffix}.png"))
    page.click('#media-grid .media-card[data-kind="audio"] a.name >> nth=0')
    page.wait_for_selector(".player")
    page.wait_for_function("() => !document.querySelector('audio, video') || document.querySelector('audio, video').readyState >= 1")
    _wait_for_images(page)
    page.screenshot(path=str(out / f"screenshot-detail{suffix}.png"))


def _review_states(browser, base_url: str, review: Path) -> None:
    """States a UI change can break that the README does not show."""
    from tests import media_samples as samples

    review.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        context = browser.new_context(base_url=base_url, viewport=VIEWPORT, color_scheme=scheme)
        page = context.new_page()
        _library_and_detail(page, review, suffix=f"-{scheme}")
        page.goto("/library/")
        # The drop overlay, as when files are dragged over the window.
        page.evaluate("document.body.classList.add('dragging')")
        page.screenshot(path=str(review / f"drop-overlay-{scheme}.png"))
        page.evaluate("document.body.classList.remove('dragging')")
        # An upload held in flight: the progress card.
        held = []
        page.route("**/library/upload/", held.append)
        page.set_input_files(
            "#file-input", [{"name": "a-long-recording.wav", "mimeType": "audio/wav", "buffer": samples.wav_bytes(20.0)}]
        )
        page.wait_for_selector("#upload-queue .media-card.uploading")
        page.evaluate("""() => { const c = document.querySelector('.media-card.uploading');
            c.querySelector('.progress > span').style.width = '62%'; c.querySelector('.status').textContent = 'Uploading… 62%'; }""")
        page.wait_for_timeout(300)  # the bar's width transition
        page.screenshot(path=str(review / f"uploading-{scheme}.png"))
        page.wait_for_function("() => true")
        for route in held:
            route.abort()
        page.unroute("**/library/upload/")
        # The detail page of each other kind.
        for kind in ("image", "video", "pdf"):
            page.goto("/library/")
            page.click(f'#media-grid .media-card[data-kind="{kind}"] a.name >> nth=0')
            page.wait_for_selector(".player")
            _wait_for_images(page)
            page.screenshot(path=str(review / f"detail-{kind}-{scheme}.png"), full_page=True)
        # Empty states: a filter that matches nothing.
        page.goto("/library/?q=nothing-is-called-this")
        page.screenshot(path=str(review / f"empty-filter-{scheme}.png"))
        context.close()
    context = browser.new_context(base_url=base_url, viewport=VIEWPORT)
    page = context.new_page()
    _log_in(page, "newcomer")
    page.screenshot(path=str(review / "empty-library.png"))
    context.close()
    context = browser.new_context(base_url=base_url, viewport={"width": 420, "height": 900})
    page = context.new_page()
    _log_in(page)
    _wait_for_images(page, everywhere=True)
    page.screenshot(path=str(review / "narrow.png"), full_page=True)
    context.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the two PNGs go (default docs/)")
    parser.add_argument("--dark", action="store_true", help="photograph the dark theme")
    parser.add_argument("--review", type=Path, help="also save other UI states here, to eyeball")
    args = parser.parse_args(argv)

    chromium = os.environ.get("PRISM_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists() and not shutil.which(chromium):
        print(f"No Chromium at {chromium}: install Debian's chromium or set PRISM_CHROMIUM.", file=sys.stderr)
        return 1

    data_dir = Path(tempfile.mkdtemp(prefix="prism-screenshots-"))
    try:
        _prepare_django(data_dir)
        _seed()
        server = _Server()
        try:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(
                    base_url=server.url, viewport=VIEWPORT, color_scheme="dark" if args.dark else "light"
                )
                args.out.mkdir(parents=True, exist_ok=True)
                _library_and_detail(context.new_page(), args.out)
                context.close()
                if args.review:
                    _review_states(browser, server.url, args.review)
                browser.close()
        finally:
            server.stop()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"Saved {args.out / 'screenshot-library.png'} and {args.out / 'screenshot-detail.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
