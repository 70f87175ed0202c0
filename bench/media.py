"""Media library benchmark: upload-to-stored time, variant time (cold and cached), peak memory.

    .venv/bin/python bench/media.py [--repeat 3]

For a 12-megapixel JPEG and a 60 s WAV (44.1 kHz stereo), it measures:
  * upload: a multipart POST through the real upload view (parse, decode-check, hash, thumbnail,
    store) until the item is in the database;
  * variant: resize to a 1568 px edge, and WAV -> MP3; then the same variant asked again, which
    must come from the cache;
  * peak memory: the process's peak RSS growth during each step, measured in a fresh child
    process per step so one step's peak does not hide another's.
It runs against a throwaway data folder (SQLite + files), never the developer's var/.
"""

import argparse
import io
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def make_photo_jpeg(path: Path) -> None:
    """A 4000x3000 'photo': smooth gradients plus grain, so JPEG size is photo-like (~3 MB)."""
    from PIL import Image, ImageDraw, ImageFilter

    img = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    draw = ImageDraw.Draw(img)
    rng = random.Random(7)
    for _ in range(400):
        x, y, r = rng.randrange(4000), rng.randrange(3000), rng.randrange(20, 240)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(rng.randrange(256) for _ in range(3)))
    img = img.filter(ImageFilter.GaussianBlur(3))
    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    img = Image.blend(img, noise, 0.18)
    img.save(path, "JPEG", quality=90)


def make_wav(path: Path, seconds: int = 60, rate: int = 44100) -> None:
    import math
    import struct
    import wave

    frame = bytearray()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        step = 2 * math.pi * 440 / rate
        one_second = b"".join(
            struct.pack("<hh", int(12000 * math.sin(step * i)), int(9000 * math.sin(step * 1.5 * i)))
            for i in range(rate)
        )
        for _ in range(seconds):
            frame[:] = one_second
            w.writeframes(frame)


def child(step: str, data_dir: str, sample: str) -> dict:
    """One measured step in a fresh process (so the peak RSS belongs to this step)."""
    os.environ["PRISM_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from playground.uploads import services
    from playground.uploads.models import MediaItem
    from playground.uploads.variants import VariantSpec

    user = get_user_model().objects.get(username="bench")
    name = Path(sample).name
    if step == "upload":
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        payload = Path(sample).read_bytes()
        MediaItem.objects.filter(name=name).delete()
        base_rss = _reset_peak()
        start = time.perf_counter()
        upload = io.BytesIO(payload)
        upload.name = name
        response = client.post("/library/upload/", {"file": upload}, headers={"HX-Request": "true"})
        elapsed = time.perf_counter() - start
        assert response.status_code == 200 and b"refused" not in response.content, response.content[:500]
        item = MediaItem.objects.get(name=name)
        return {"seconds": elapsed, "peak_rss_growth_mb": _rss_mb() - base_rss, "bytes": len(payload),
                "kind": item.kind, "dims": item.dimensions, "duration_s": item.duration_s}
    item = MediaItem.objects.get(name=name)
    spec = VariantSpec.image(max_edge=1568) if item.kind == "image" else VariantSpec.audio(format="mp3")
    if step == "variant-cold":
        item.file.variants.all().delete()
    base_rss = _reset_peak()
    start = time.perf_counter()
    variant = services.get_variant(item, spec)
    elapsed = time.perf_counter() - start
    files = variant.ordered_files()
    return {"seconds": elapsed, "peak_rss_growth_mb": _rss_mb() - base_rss, "spec": spec.key(),
            "output_bytes": files[0].file.size, "details": variant.details}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> float:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux: clear_refs 5) and return it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_mb("VmRSS")


def _rss_mb() -> float:
    return _status_mb("VmHWM")


def run_child(step: str, data_dir: str, sample: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, data_dir, str(sample)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return

    with tempfile.TemporaryDirectory(prefix="prism-bench-") as data_dir:
        env = {**os.environ, "PRISM_DATA_DIR": data_dir}
        env.pop("DATABASE_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [sys.executable, "-c", (
                "import django,os;os.environ.setdefault('DJANGO_SETTINGS_MODULE','playground.settings');django.setup();"
                "from django.contrib.auth import get_user_model as g;from playground.accounts.models import Team;"
                "u=g().objects.create_user('bench');Team.objects.create(name='Bench').add_member(u,'owner')")],
            cwd=ROOT, env=env, check=True,
        )
        samples_dir = Path(data_dir) / "samples"
        samples_dir.mkdir()
        jpeg, wav = samples_dir / "photo-12mp.jpg", samples_dir / "speech-60s.wav"
        make_photo_jpeg(jpeg)
        make_wav(wav)

        print(f"# Prism media benchmark ({args.repeat} runs each, median shown; peak = RSS growth in a fresh process)")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        for sample in (jpeg, wav):
            rows = {step: [run_child(step, data_dir, sample) for _ in range(args.repeat)]
                    for step in ("upload", "variant-cold", "variant-cached")}
            first = rows["upload"][0]
            desc = f"{first['dims']} JPEG" if first["kind"] == "image" else f"{first['duration_s']:.1f} s WAV"
            print(f"\n{sample.name}: {desc}, {first['bytes'] / 1e6:.1f} MB")
            for step, results in rows.items():
                secs = statistics.median(r["seconds"] for r in results) * 1000
                peak = max(r["peak_rss_growth_mb"] for r in results)
                extra = ""
                if step == "variant-cold":
                    extra = f"  -> {results[0]['spec']}, {results[0]['output_bytes'] / 1e6:.2f} MB"
                print(f"  {step:15s} {secs:9.1f} ms   peak +{peak:6.1f} MB{extra}")
            cold = statistics.median(r["seconds"] for r in rows["variant-cold"])
            cached = statistics.median(r["seconds"] for r in rows["variant-cached"])
            print(f"  cached variant is {cold / cached:,.0f}x faster than making it")


if __name__ == "__main__":
    main()
