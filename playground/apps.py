import os

from django.apps import AppConfig


class PlaygroundConfig(AppConfig):
    """The project itself: loads the Celery app when Django starts, so @shared_task binds to it."""

    name = "playground"
    label = "playground"

    def ready(self):
        import playground.celery  # noqa: F401

        _private_sqlite_files()


def _private_sqlite_files() -> None:
    """Create the SQLite file 0600 just before Django first opens it (SQLite then gives its -wal
    and -shm files the same mode). Not at settings time: `manage.py preview` must create no database."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from playground.lib.env import private_sqlite_file

    if getattr(DatabaseWrapper.get_new_connection, "_prism_private", False):
        return
    opened = DatabaseWrapper.get_new_connection
    made_private: set[str] = set()  # SQLite connects anew for every request (CONN_MAX_AGE=0): once per file

    def get_new_connection(self, conn_params):
        name = str(conn_params.get("database", ""))
        if name not in made_private or not os.path.exists(name):
            private_sqlite_file(name)
            made_private.add(name)
        return opened(self, conn_params)

    get_new_connection._prism_private = True
    DatabaseWrapper.get_new_connection = get_new_connection
