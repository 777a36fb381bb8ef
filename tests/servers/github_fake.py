"""A local fake of the GitHub REST endpoints the github backend uses, backed by a real git repo.

Run as ``python -m tests.servers.github_fake --port P --repo DIR [--token T]``; ``start()`` does
that in a subprocess. Served under ``/`` and under ``/api/v3`` (the GitHub Enterprise form):

  GET /repos/{org}/{repo}                          default branch
  GET /repos/{org}/{repo}/git/trees/{sha}          ?recursive=1 for the whole tree
  GET /repos/{org}/{repo}/contents/{path}?ref=     base64 content up to 1 MB, else a download_url
  GET /raw/{org}/{repo}/{sha}/{path}               the raw download behind download_url

Any repository name of org ``ORG`` is the one repository. Org ``RATE_LIMITED_ORG`` answers 403
with ``X-RateLimit-Remaining: 0``; org ``TRUNCATING_ORG`` answers recursive tree requests with
``truncated: true`` (as GitHub does for huge trees). A wrong token is a 401, no token is a
public read.
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from tests.servers._proc import HOST, RunningServer, ServerProcess, free_port

ORG = "genro"
REPO = "sample-repo"
RATE_LIMITED_ORG = "limited"
TRUNCATING_ORG = "truncating"
TEST_TOKEN = "ghp_FAKEtoken0123456789abcdefXYZ"
CONTENT_LIMIT = 1024 * 1024
RATE_LIMIT_RESET = 2_000_000_000  # 2033-05-18T03:33:20Z
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(kw_only=True)
class GithubFake(RunningServer):
    port: int
    url: str
    api_url: str  # the GitHub Enterprise form, http://HOST:PORT/api/v3
    repo: Path
    logfile: Path

    def requests_seen(self) -> str:
        return self.logfile.read_text(errors="replace")


def start(workdir: Path, repo: Path, *, token: str | None = None) -> GithubFake:
    port = free_port()
    logfile = workdir / "github-fake.log"
    argv = [sys.executable, "-m", "tests.servers.github_fake", "--port", str(port), "--repo", str(repo)]
    if token:
        argv += ["--token", token]
    process = ServerProcess(argv=argv, port=port, logfile=logfile, cwd=REPO_ROOT)
    process.start()
    url = f"http://{HOST}:{port}"
    return GithubFake(processes=[process], port=port, url=url, api_url=f"{url}/api/v3", repo=repo, logfile=logfile)


class GitRepo:
    """Answers from the repository through the git CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: str) -> bytes | None:
        done = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, check=False)
        return done.stdout if done.returncode == 0 else None

    def default_branch(self) -> str:
        out = self.run("symbolic-ref", "--short", "HEAD")
        return out.decode().strip() if out else "main"

    def resolve(self, rev: str, kind: str) -> str | None:
        out = self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{{kind}}}")
        return out.decode().strip() if out else None

    def tree(self, tree: str, recursive: bool) -> list[dict[str, Any]]:
        out = self.run("ls-tree", "-z", "-l", *(["-r", "-t"] if recursive else []), tree)
        entries = []
        for record in (out or b"").split(b"\0"):
            if not record:
                continue
            meta, path = record.split(b"\t", 1)
            mode, kind, sha, size = meta.decode().split()
            entry: dict[str, Any] = {"path": path.decode(), "mode": mode, "type": kind, "sha": sha}
            if kind == "blob":
                entry["size"] = int(size)
            entries.append(entry)
        return entries

    def blob(self, commit: str, path: str) -> bytes | None:
        return self.run("cat-file", "blob", f"{commit}:{path}")


class Handler(BaseHTTPRequestHandler):
    repo: GitRepo
    token: str | None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path[len("/api/v3"):] if parts.path.startswith("/api/v3/") else parts.path
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if not self._authorised():
            self._json(401, {"message": "Bad credentials"})
            return
        if len(segments) >= 3 and segments[0] == "repos" and segments[1] == RATE_LIMITED_ORG:
            self._rate_limited()
            return
        if segments[0] == "raw" and len(segments) >= 5:
            self._raw(segments[3], "/".join(segments[4:]))
        elif segments[0] == "repos" and len(segments) >= 3 and segments[1] in (ORG, TRUNCATING_ORG):
            self._api(segments[1], segments[2], segments[3:], query)
        else:
            self._json(404, {"message": "Not Found"})

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization")
        if header is None or self.token is None:
            return True
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer"):
            return value == self.token
        if scheme.lower() == "basic":
            return base64.b64decode(value).decode().partition(":")[2] == self.token
        return False

    def _rate_limited(self) -> None:
        self._json(403, {"message": "API rate limit exceeded for 127.0.0.1."},
                   {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(RATE_LIMIT_RESET)})

    def _api(self, org: str, name: str, rest: list[str], query: dict[str, str]) -> None:
        if name != REPO:
            self._json(404, {"message": "Not Found"})
        elif not rest:
            self._json(200, {"name": name, "full_name": f"{org}/{name}",
                             "default_branch": self.repo.default_branch()})
        elif rest[:2] == ["git", "trees"] and len(rest) >= 3:
            self._tree(org, "/".join(rest[2:]), query.get("recursive") not in (None, "0", "false"))
        elif rest[0] == "contents":
            self._contents(org, name, "/".join(rest[1:]), query.get("ref") or self.repo.default_branch())
        else:
            self._json(404, {"message": "Not Found"})

    def _tree(self, org: str, rev: str, recursive: bool) -> None:
        tree = self.repo.resolve(rev, "tree")
        if tree is None:
            self._json(404, {"message": "Not Found"})
            return
        truncated = recursive and org == TRUNCATING_ORG
        entries = self.repo.tree(tree, recursive and not truncated)
        self._json(200, {"sha": tree, "tree": entries, "truncated": truncated})

    def _contents(self, org: str, name: str, path: str, ref: str) -> None:
        commit = self.repo.resolve(ref, "commit")
        data = self.repo.blob(commit, path) if commit else None
        if data is None:
            self._json(404, {"message": "Not Found"})
            return
        small = len(data) <= CONTENT_LIMIT
        host = self.headers.get("Host", f"{HOST}")
        self._json(200, {
            "type": "file", "name": path.rsplit("/", 1)[-1], "path": path, "size": len(data),
            "encoding": "base64" if small else "none",
            "content": base64.encodebytes(data).decode() if small else "",
            "download_url": f"http://{host}/raw/{org}/{name}/{commit}/{quote(path)}",
        })

    def _raw(self, commit: str, path: str) -> None:
        data = self.repo.blob(commit, path)
        if data is None:
            self._json(404, {"message": "Not Found"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{time.strftime('%H:%M:%S')} {format % args}\n")
        sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--token")
    args = parser.parse_args()
    Handler.repo = GitRepo(Path(args.repo))
    Handler.token = args.token
    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
