"""Stored files that apps above uploads still point at, so that pruning keeps them.

uploads sits low in the layering (accounts < uploads < prompts < catalog < runs) and must not import
the apps that hold foreign keys to its StoredFile rows. Each such app registers instead, in its
AppConfig.ready, a query giving the StoredFile ids (content hashes) it still uses;
:func:`services.prune_unused_files` keeps every file any registered query names.
"""

from collections.abc import Callable, Iterable

# name (who asks, for reading and for registering twice harmlessly) -> query
_QUERIES: dict[str, Callable[[], Iterable[str]]] = {}


def register(name: str, query: Callable[[], Iterable[str]]) -> None:
    """Keep the StoredFile ids ``query()`` returns (called at each prune, so it sees the data then)."""
    _QUERIES[name] = query


def registered() -> list[str]:
    return sorted(_QUERIES)


def referenced_file_ids() -> set[str]:
    """Every StoredFile id some registered query says is in use."""
    ids: set[str] = set()
    for query in _QUERIES.values():
        ids.update(query())
    return ids
