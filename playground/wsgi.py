import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
application = get_wsgi_application()


def _warm_tokenizer() -> None:
    # The first preview would otherwise wait ~0.4 s for the OpenAI token tables to load.
    from playground.protocols.tokens import count_text

    count_text("warm up", "chat", "gpt-4o")


threading.Thread(target=_warm_tokenizer, name="warm-tokenizer", daemon=True).start()


def _media_start() -> None:
    # What killed web processes left in the upload temp folder goes; and the decoding sandbox's
    # server is started now (~0.5 s) rather than during the first upload.
    from playground.uploads import sandbox, services

    services.sweep_upload_temp()
    sandbox.warm_up()


threading.Thread(target=_media_start, name="media-start", daemon=True).start()
