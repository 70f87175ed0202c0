"""`database_text()`: every value of every row of every table as one text, for the tests that a
secret (an API key) is stored nowhere in clear (tests/catalog/test_keys.py, tests/security/test_no_key_leaks.py)."""

from django.db import connection


def _text(value) -> str:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("latin-1")  # every byte a character: a key stored as bytes shows too
    return str(value)


def database_text() -> str:
    """Every column of every row of every table, one row a line."""
    tables = connection.introspection.table_names()
    assert "runs_result" in tables  # the whole schema, not a database without the runs tables
    chunks = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            chunks += [" | ".join(_text(v) for v in row) for row in cursor.fetchall()]
    return "\n".join(chunks)
