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
