"""Run a command with media in a real S3-compatible server on loopback: bin/test's team pass.

    python -m tests.s3_server -- python -m pytest ...

Starts moto's standalone server (``moto.server.ThreadedMotoServer``, the one ``moto_server``
runs) on 127.0.0.1 at a free port in this process, creates the bucket, and runs the command with
the bucket settings in its environment (PRISM_S3_*, AWS_* with dummy credentials), so pytest and
every Celery worker it starts store media there. moto keeps the objects in this process's memory;
they go with it when the command ends. Exit status: the command's.
"""

import os
import signal
import socket
import subprocess
import sys

BUCKET = "prism-test-media"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bucket_environment(endpoint: str) -> dict[str, str]:
    return {
        "PRISM_S3_BUCKET": BUCKET,
        "PRISM_S3_ENDPOINT_URL": endpoint,
        "PRISM_S3_REGION": REGION,
        "PRISM_S3_ADDRESSING_STYLE": "path",
        "AWS_ACCESS_KEY_ID": "prism-test",
        "AWS_SECRET_ACCESS_KEY": "prism-test-secret",  # moto accepts any; nothing real is reachable
        # Never the developer's own profile or credentials files.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: python -m tests.s3_server -- COMMAND...", file=sys.stderr)
        return 2
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per S3 call otherwise

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, **bucket_environment(endpoint))
    try:
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=BUCKET)
        print(f"tests.s3_server: moto S3 at {endpoint}, bucket {BUCKET}", flush=True)
        child = subprocess.Popen(argv, env=env)
        # bin/test stops a pass with SIGTERM to its process group: pytest gets it too and tears its
        # workers down, which may still read the bucket; so wait for it here, then stop the server.
        signal.signal(signal.SIGTERM, lambda *_: None)
        signal.signal(signal.SIGINT, lambda *_: None)
        return child.wait()
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
