"""One local S3 server for cases 4–6: `rclone serve s3` over a directory, on a free port."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
# rclone rejects very short access keys ("InvalidAccessKeyId"), so keep these realistic in length.
ACCESS_KEY = "benchmarkaccesskey"
SECRET_KEY = "benchmarksecretkey0123456789"
REGION = "us-east-1"
BUCKET = "bench"


@dataclass
class S3Server:
    root: Path
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def bucket_dir(self) -> Path:
        return self.root / BUCKET

    def client_env(self) -> dict[str, str]:
        """What aws and s5cmd need, with the user's own AWS config kept out of the measurement."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }

    def rclone_env(self, remote: str) -> dict[str, str]:
        """An rclone remote defined by environment variables only (no rclone.conf)."""
        prefix = f"RCLONE_CONFIG_{remote.upper()}_"
        return {
            "RCLONE_CONFIG": "/dev/null",
            prefix + "TYPE": "s3",
            prefix + "PROVIDER": "Rclone",
            prefix + "ENDPOINT": self.endpoint_url,
            prefix + "ACCESS_KEY_ID": ACCESS_KEY,
            prefix + "SECRET_ACCESS_KEY": SECRET_KEY,
            prefix + "REGION": REGION,
        }

    def profile_yaml(self, mount: str, **variants: dict[str, object]) -> str:
        """A profile with `mount`, plus one mount per variant: the same bucket with extra options."""
        blocks = [(mount, {}), *variants.items()]
        text = "mounts:\n"
        for name, extra in blocks:
            text += (f"  {name}:\n    type: s3\n    bucket: {BUCKET}\n    endpoint_url: {self.endpoint_url}\n"
                     f"    access_key: {ACCESS_KEY}\n    secret_key: {SECRET_KEY}\n    region: {REGION}\n")
            text += "".join(f"    {key}: {str(value).lower() if isinstance(value, bool) else value}\n"
                            for key, value in extra.items())
        return text

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start(rclone: str, root: Path, *, deadline: float = 30.0) -> S3Server:
    """Serve `root` (its sub-directories are buckets); returns once the server answers HTTP."""
    root.mkdir(parents=True, exist_ok=True)
    (root / BUCKET).mkdir(exist_ok=True)
    port = free_port()
    log = root.parent / "rclone-serve-s3.log"
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [rclone, "serve", "s3", "--addr", f"{HOST}:{port}", "--auth-key", f"{ACCESS_KEY},{SECRET_KEY}",
             "--config", "/dev/null", "--metadata-max-objects", "0", str(root)],
            stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = S3Server(root=root, port=port, process=process, log=log)
    limit = time.monotonic() + deadline
    while time.monotonic() < limit:
        if process.poll() is not None:
            break
        if _answers(server.endpoint_url):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"rclone serve s3 did not start on port {port}:\n{log.read_text(errors='replace')[-2000:]}")


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()
    except urllib.error.HTTPError:
        return True  # 403 without credentials: the server is up
    except OSError:
        return False
    return True
