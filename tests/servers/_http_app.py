"""The HTTP test servers' request handlers, run as ``python -m tests.servers._http_app MODE ...``.

Modes:
  listing    directory listings and files (http.server), plus single byte ranges, which fsspec
             needs for random access and http.server lacks
  no-length  files without Content-Length: close-delimited, or chunked under /chunked/
  redirect   every GET/HEAD answered with 302 to the same path on --target
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


class ListingHandler(SimpleHTTPRequestHandler):
    range_left: int | None = None

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        match = RANGE.match(self.headers.get("Range", ""))
        if match is None or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start, end = _byte_range(match, size)
        if start >= size or start > end:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        file = open(path, "rb")
        file.seek(start)
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self.range_left = end - start + 1
        return file

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        left = self.range_left
        if left is None:
            shutil.copyfileobj(source, outputfile)
            return
        while left > 0:
            block = source.read(min(CHUNK, left))
            if not block:
                break
            outputfile.write(block)
            left -= len(block)


def _byte_range(match: re.Match[str], size: int) -> tuple[int, int]:
    first, last = match.groups()
    if not first:
        return max(size - int(last or 0), 0), size - 1
    return int(first), min(int(last), size - 1) if last else size - 1


class NoLengthHandler(BaseHTTPRequestHandler):
    root: Path

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, body: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        chunked = path.startswith("/chunked/")
        if chunked:
            path = path[len("/chunked") :]
        file = (self.root / path.lstrip("/")).resolve()
        if not file.is_file() or not file.is_relative_to(self.root):
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        # HTTP/1.0 responses end when the connection closes; HTTP/1.1 ones need chunked framing.
        self.protocol_version = "HTTP/1.1" if chunked else "HTTP/1.0"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self._write_body(file, chunked)
        self.close_connection = True

    def _write_body(self, file: Path, chunked: bool) -> None:
        with open(file, "rb") as source:
            while block := source.read(CHUNK):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


class RedirectHandler(BaseHTTPRequestHandler):
    target: str

    def do_HEAD(self) -> None:
        self._redirect()

    def do_GET(self) -> None:
        self._redirect()

    def _redirect(self) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", self.target + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["listing", "no-length", "redirect"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", type=Path)
    parser.add_argument("--target")
    args = parser.parse_args()
    if args.mode == "listing":
        handler = partial(ListingHandler, directory=os.fspath(args.root))
    elif args.mode == "no-length":
        handler = type("Handler", (NoLengthHandler,), {"root": args.root.resolve()})
    else:
        handler = type("Handler", (RedirectHandler,), {"target": args.target.rstrip("/")})
    ThreadingHTTPServer.allow_reuse_address = True
    with ThreadingHTTPServer((args.host, args.port), handler) as server:
        server.daemon_threads = True
        server.serve_forever()


if __name__ == "__main__":
    main()
