"""Small ZIP builders for the evaluation-set tests (hostile ones included)."""

import io
import json
import stat
import zipfile

from tests import media_samples as samples


def zip_bytes(entries: dict, *, symlinks=(), compress=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compress
            if name in symlinks:
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, data)
    return out.getvalue()


def pngs(n: int, prefix: str = "img") -> dict[str, bytes]:
    """n distinct PNGs (distinct sizes, so distinct bytes)."""
    return {f"{prefix}/{i}.png": samples.png_bytes(8 + i, 6 + i) for i in range(n)}


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()
