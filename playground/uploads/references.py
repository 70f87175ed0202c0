"""Stored files (and variants) that apps above uploads still point at, so that pruning keeps them.

uploads sits low in the layering (accounts < uploads < prompts < catalog < runs) and must not import
the apps that hold foreign keys to its StoredFile rows. Each such app registers instead, in its
AppConfig.ready, a query giving the StoredFile ids (content hashes) it still uses;
:func:`services.prune_unused_files` keeps every file any registered query names.

Deleting one variant asks the same registries, in words: :func:`file_users` names what holds
one of its files ("a run's stored request"), and :func:`variant_users` asks the apps that keep
documents naming variants (saved prompt versions) which of theirs ask for it.
"""

from collections.abc import Callable, Iterable

# name (who asks, for reading and for registering twice harmlessly) -> query
_QUERIES: dict[str, Callable[[], Iterable[str]]] = {}
# name -> what a user reads when one of the files is in use ("a run's stored request")
_LABELS: dict[str, str] = {}
# name -> users(item, canonical spec key): the things of item's team that use that variant, in words
_VARIANT_USERS: dict[str, Callable[..., list[str]]] = {}


def register(name: str, query: Callable[[], Iterable[str]], *, label: str | None = None) -> None:
    """Keep the StoredFile ids ``query()`` returns (called at each prune, so it sees the data then).
    ``label`` says in words what holds them, for the reason a variant cannot be deleted."""
    _QUERIES[name] = query
    _LABELS[name] = label or name


def register_variant_users(name: str, users: Callable[..., list[str]]) -> None:
    """``users(item, spec_key)``: what in item's team still asks for item's variant under the
    canonical ``spec_key`` (uploads.services.variant_key), named for the user; [] when nothing."""
    _VARIANT_USERS[name] = users


def file_users(file_ids: set[str]) -> list[str]:
    """What holds one of ``file_ids``, in words (one entry per registry that does)."""
    if not file_ids:
        return []
    return [_LABELS[name] for name, query in sorted(_QUERIES.items()) if file_ids & set(query())]


def variant_users(item, spec_key: str) -> list[str]:
    users: list[str] = []
    for name in sorted(_VARIANT_USERS):
        users += _VARIANT_USERS[name](item, spec_key)
    return users


def registered() -> list[str]:
    return sorted(_QUERIES)


def referenced_file_ids() -> set[str]:
    """Every StoredFile id some registered query says is in use."""
    ids: set[str] = set()
    for query in _QUERIES.values():
        ids.update(query())
    return ids
