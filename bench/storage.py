"""Media storage benchmark: the local media folder against an S3 bucket (moto's server on loopback).

    .venv/bin/python bench/storage.py [--repeat 3]

For a 12-megapixel JPEG (~3 MB), each storage in a fresh process with its own throwaway data folder:
  * store: add_path, i.e. hash, decode-check and thumbnail in the sandbox, then store (a hard link,
    or an upload to the bucket) until the item is in the database;
  * serve: the whole file, then a 64 KiB Range, through the real view (streamed from the storage);
  * local copy cold/warm: StoredFile.local_path() with this machine's cache emptied, then again;
  * variant: a 1568 px resize from a cold cache (download, decode, encode, store);
  * base64: the .b64 text for request bodies, from a cold cache.
Medians of --repeat rounds (new bytes each round). moto answers from memory on loopback, so the
bucket figures are Prism's own overhead plus boto3's, not a real network's latency.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(data_dir: str, repeat: int) -> dict:
    os.environ["PRISM_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from bench.media import make_photo_jpeg
    from playground.uploads import services
    from playground.uploads.variants import VariantSpec
    from tests.factories import make_member, make_team

    call_command("migrate", verbosity=0)
    team = make_team(name="Bench")
    user = make_member(team, "editor", username="bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    times: dict[str, list[float]] = {}

    def timed(step, fn, *args, **kw):
        start = time.perf_counter()
        out = fn(*args, **kw)
        times.setdefault(step, []).append(time.perf_counter() - start)
        return out

    def fetch(url, headers=None):
        return b"".join(client.get(url, headers=headers or {}).streaming_content)

    def cold():
        shutil.rmtree(settings.PRISM_MEDIA_CACHE_DIR, ignore_errors=True)

    work = Path(tempfile.mkdtemp(dir=data_dir))
    for i in range(repeat):
        photo = work / f"photo{i}.jpg"
        make_photo_jpeg(photo)
        with open(photo, "ab") as f:
            f.write(os.urandom(16))  # new bytes each round: nothing is found already stored
        item = timed("store", services.add_path, team=team, user=user, path=photo, name=photo.name).item
        cold()
        url = reverse("uploads:file", args=[item.pk])
        timed("serve whole", fetch, url)
        timed("serve 64 KiB range", fetch, url, {"Range": "bytes=0-65535"})
        cold()
        timed("local copy cold", item.file.local_path)
        timed("local copy warm", item.file.local_path)
        cold()
        timed("variant (cold cache)", services.get_variant, item, VariantSpec.image(max_edge=1568, format="jpeg"))
        cold()
        timed("base64 (cold cache)", item.file.base64_path)
    return {"size_mb": round(photo.stat().st_size / 1e6, 2),
            "median_s": {name: round(statistics.median(v), 4) for name, v in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from tests.s3_server import BUCKET, REGION, bucket_environment, free_port

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    results = {}
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        bucket_env = bucket_environment(f"http://127.0.0.1:{port}")
        boto3.client("s3", endpoint_url=bucket_env["PRISM_S3_ENDPOINT_URL"], region_name=REGION,
                     aws_access_key_id="x", aws_secret_access_key="y").create_bucket(Bucket=BUCKET)
        for mode, extra in (("local folder", {}), ("S3 bucket (moto)", bucket_env)):
            with tempfile.TemporaryDirectory(prefix="prism-bench-storage-") as data:
                env = {k: v for k, v in os.environ.items() if not k.startswith(("PRISM_S3_", "DATABASE_URL"))}
                env.update(extra, CELERY_TASK_ALWAYS_EAGER="True")
                out = subprocess.run([sys.executable, __file__, "--child", data, "--repeat", str(args.repeat)],
                                     env=env, capture_output=True, text=True, check=False)
                if out.returncode:
                    sys.exit(f"{mode} failed:\n{out.stderr[-4000:]}")
                results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        server.stop()
    local, bucket = results["local folder"], results["S3 bucket (moto)"]
    print(f"12 MP JPEG, {local['size_mb']} MB; medians of {args.repeat}")
    print(f"{'step':24} {'local':>9} {'bucket':>9} {'ratio':>7}")
    for step, t in local["median_s"].items():
        b = bucket["median_s"][step]
        ratio = f"{b / t:6.1f}x" if t >= 0.001 else "      -"
        print(f"{step:24} {t * 1000:7.1f}ms {b * 1000:7.1f}ms {ratio}")


if __name__ == "__main__":
    main()
