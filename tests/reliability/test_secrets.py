"""Secrets never leak: every option the schema marks secret, passwords in URLs and Authorization
headers are masked in `mounts`, errors, --debug tracebacks and logs; a profile holding secrets that
others can read draws a warning; TLS certificates are verified unless a mount explicitly opts out."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from genrostore.core import errors
from genrostore.core.registry import spec_for
from tests.reliability.conftest import Cli, ScriptedHTTPServer, refused_port, write_profile
from tests.reliability.test_retries import NETWORK, _dead_options

MARK = "SeKrEt9f3a"


def _secret_value(kind: str, option: str) -> str:
    return f"{MARK}-{kind}-{option}"


def _options_with_secrets(kind: str, port: int, tmp_path: Path) -> dict:
    """The dead-server options of `kind` with a recognisable value in every secret option."""
    options = _dead_options(kind, port, tmp_path)
    for option in spec_for(kind).options:
        if option.secret and option.type is str:
            options[option.name] = _secret_value(kind, option.name)
    if kind == "azure":  # one credential at a time, or validation (rightly) refuses the mix
        options.pop("connection_string", None)
        options.pop("sas_token", None)
    return options


def _commands(mount: str) -> list[tuple[str, ...]]:
    return [
        ("mounts",),
        ("mounts", "--json"),
        ("--debug", "--retries", "0", "--timeout", "2", "cat", f"{mount}:x.txt"),
        ("--debug", "--retries", "1", "--timeout", "2", "cp", "data:aGk=", f"{mount}:x.txt"),
        ("--debug", "--retries", "0", "--timeout", "2", "ls", "-l", f"{mount}:"),
        ("--retries", "0", "--timeout", "2", "cp", "--progress", "data:aGk=", f"{mount}:y.txt"),
    ]


@pytest.mark.parametrize("kind", NETWORK)
def test_secret_options_never_appear_in_any_output(cli: Cli, tmp_path: Path, kind: str) -> None:
    options = _options_with_secrets(kind, refused_port(), tmp_path)
    secrets = [v for v in options.values() if isinstance(v, str) and MARK in v]
    assert secrets or kind in ("webdav", "http", "gcs"), f"{kind} declares no secret option"
    profile = write_profile(tmp_path, {"vault": options})
    for args in _commands("vault"):
        result = cli(*args, profile=profile, timeout=40)
        assert MARK not in result.output, f"{args} leaked a secret:\n{result.output}"
    assert "***" in cli("mounts", profile=profile).output or not secrets


@pytest.mark.parametrize("url", [
    "sftp://alice:{mark}@127.0.0.1:{port}/x.txt",
    "smb://alice:{mark}@127.0.0.1:{port}/share/x.txt",
    "webdav+http://alice:{mark}@127.0.0.1:{port}/x.txt",
    "http://alice:{mark}@127.0.0.1:{port}/x.txt",
    "http://127.0.0.1:{port}/x.txt?token={mark}&sig={mark}",
], ids=["sftp", "smb", "webdav", "http-userinfo", "http-query"])
def test_passwords_and_tokens_in_urls_never_appear_in_any_output(cli: Cli, url: str) -> None:
    address = url.format(mark=MARK, port=refused_port())
    for args in (("--debug", "--retries", "0", "--timeout", "2", "cat", address),
                 ("--retries", "0", "--timeout", "2", "cp", "data:aGk=", address)):
        result = cli(*args, timeout=40)
        assert result.returncode != errors.OK
        assert MARK not in result.output, f"{args} leaked a secret:\n{result.output}"


# Every option whose value is a URL, on every backend that has one.
URL_OPTIONS = [("s3", "endpoint_url"), ("gcs", "endpoint_url"), ("azure", "endpoint_url"), ("webdav", "url"),
               ("http", "base_url"), ("github", "api_url")]


def _with_userinfo(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://alice:{password}@{rest}"


@pytest.mark.parametrize("kind,option", URL_OPTIONS, ids=[f"{k}-{o}" for k, o in URL_OPTIONS])
def test_a_password_in_a_url_option_never_appears_in_any_output(cli: Cli, tmp_path: Path, kind: str,
                                                                 option: str) -> None:
    options = _dead_options(kind, refused_port(), tmp_path)
    options[option] = _with_userinfo(options[option], f"{MARK}-{kind}")
    profile = write_profile(tmp_path, {"vault": options})
    for args in _commands("vault"):
        result = cli(*args, profile=profile, timeout=40)
        assert MARK not in result.output, f"{args} leaked a password:\n{result.output}"
    shown = cli("mounts", "--json", profile=profile).expect(errors.OK).stdout.decode()
    assert "alice:***@" in shown  # masked, not dropped: the user can still see which URL it is


@pytest.mark.parametrize("kind,option", URL_OPTIONS, ids=[f"{k}-{o}" for k, o in URL_OPTIONS])
def test_a_url_option_whose_password_holds_a_slash_is_refused_without_showing_it(
    cli: Cli, tmp_path: Path, kind: str, option: str,
) -> None:
    """`http://alice:Qz8/SECRET@host/`: the `/` ends the host part for URL parsers, which then
    quote the password's start as a bad port. A command using the mount exits 7 naming the
    option; `mounts` lists the mount as broken with the same message (issue 13: one broken mount
    fails only the commands that use it); the password is masked everywhere."""
    options = _dead_options(kind, refused_port(), tmp_path)
    options[option] = _with_userinfo(options[option], f"Qz8vWq/{MARK}")
    profile = write_profile(tmp_path, {"vault": options})
    for args in (("mounts",), ("mounts", "--json"), ("--debug", "cat", "vault:x.txt")):
        result = cli(*args, profile=profile, timeout=40)
        expected = errors.OK if args[0] == "mounts" else errors.CONFIG
        assert result.returncode == expected, result.err  # --debug adds the (redacted) traceback
        assert MARK not in result.output and "Qz8vWq" not in result.output, f"{args} leaked:\n{result.output}"
        assert f"option '{option}': malformed URL" in result.output and "%2F" in result.output


@pytest.mark.parametrize("url", [
    "http://alice:Qz8vWq/{mark}@127.0.0.1:{port}/x.txt",
    "webdav+http://alice:Qz8vWq/{mark}@127.0.0.1:{port}/x.txt",
    "sftp://alice:Qz8vWq/{mark}@127.0.0.1:{port}/x.txt",
    "smb://alice:Qz8vWq/{mark}@127.0.0.1:{port}/share/x.txt",
], ids=["http", "webdav", "sftp", "smb"])
def test_a_malformed_url_error_never_echoes_the_password(cli: Cli, url: str) -> None:
    address = url.format(mark=MARK, port=refused_port())
    for args in (("cat", address), ("--debug", "cat", address), ("cp", "data:aGk=", address)):
        result = cli(*args, timeout=40)
        assert result.returncode != errors.OK
        assert MARK not in result.output and "Qz8vWq" not in result.output, f"{args} leaked:\n{result.output}"


def test_redaction_masks_url_passwords_with_any_character() -> None:
    from genrostore.core.secrets import redact

    for password in (MARK, f"a/{MARK}", f"a@{MARK}", f"{MARK}?x#y", f"{MARK}%2Fz"):
        text = f"failed: https://bob:{password}@host:8443/dav/x.txt (HTTP 500)"
        assert MARK not in redact(text) and "https://bob:***@host:8443/dav/x.txt" in redact(text), redact(text)
    assert redact("http://host:8080/a@b") == "http://host:8080/a@b"  # a port, then a path: no password


def test_an_authorization_header_is_masked_in_debug_output(cli: Cli, tmp_path: Path,
                                                           scripted: ScriptedHTTPServer) -> None:
    scripted.always = 500
    options = {"type": "github", "org": "o", "repo": "r", "sha": "main", "api_url": scripted.url,
               "token": f"ghp_{MARK}"}
    profile = write_profile(tmp_path, {"gh": options})
    result = cli("--debug", "--retries", "0", "ls", "gh:", profile=profile)
    assert result.returncode == errors.TEMPORARY and "Traceback" in result.err
    assert MARK not in result.output


def test_redaction_masks_credential_shapes_in_any_text() -> None:
    from genrostore.core.secrets import redact

    for text in (f"https://bob:{MARK}@host/x", f"Authorization: Bearer {MARK}", f"{{'Authorization': 'token {MARK}'}}",
                 f"GET /x?X-Amz-Signature={MARK}&a=1", f"https://h/x?sig={MARK}", f"https://h/?access_token={MARK}"):
        assert MARK not in redact(text), text


# -- the profile's own permissions ----------------------------------------------------------------
SECRET_MOUNT = {"box": {"type": "sftp", "host": "127.0.0.1", "username": "u", "password": f"{MARK}-pw"}}
PLAIN_MOUNT = {"plain": {"type": "local", "path": "/tmp"}}


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_profile_with_secrets_readable_by_others_draws_a_warning(cli: Cli, tmp_path: Path, mode: int) -> None:
    profile = write_profile(tmp_path, SECRET_MOUNT, mode=mode)
    result = cli("mounts", profile=profile).expect(errors.OK)
    assert "warning" in result.err and "chmod 600" in result.err and str(profile) in result.err
    assert MARK not in result.output


@pytest.mark.parametrize("mounts,mode", [(SECRET_MOUNT, 0o600), (SECRET_MOUNT, 0o400), (PLAIN_MOUNT, 0o644)],
                         ids=["secret-600", "secret-400", "no-secret-644"])
def test_a_private_profile_or_one_without_secrets_draws_no_warning(cli: Cli, tmp_path: Path, mounts: dict,
                                                                   mode: int) -> None:
    profile = write_profile(tmp_path, mounts, mode=mode)
    assert "warning" not in cli("mounts", profile=profile).expect(errors.OK).err


def test_a_secret_from_an_environment_variable_counts_too(cli: Cli, tmp_path: Path) -> None:
    profile = tmp_path / "mounts.yaml"
    profile.write_text("mounts:\n  box:\n    type: sftp\n    host: h\n    username: u\n    password: ${BOX_PW}\n")
    profile.chmod(0o644)
    result = cli("mounts", profile=profile, env={"BOX_PW": f"{MARK}-env"}).expect(errors.OK)
    assert "warning" in result.err and MARK not in result.output


# -- TLS ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    directory = tmp_path_factory.mktemp("tls")
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    return directory / "cert.pem", directory / "key.pem"


@pytest.fixture
def https_server(self_signed: tuple[Path, Path]) -> Iterator[ScriptedHTTPServer]:
    server = ScriptedHTTPServer()
    server.server.shutdown()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    server.server.socket = context.wrap_socket(server.server.socket, server_side=True)
    server.url = f"https://127.0.0.1:{server.port}"
    server.thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    server.thread.start()
    yield server
    server.stop()


def _https_options(kind: str, url: str) -> dict:
    return {
        "s3": {"type": "s3", "bucket": "bucket", "endpoint_url": url, "region": "eu-west-1",
               "access_key": "AKIATLS", "secret_key": "tls-secret"},
        "github": {"type": "github", "org": "o", "repo": "r", "sha": "main", "api_url": url},
        "http": {"type": "http", "base_url": url},
        "webdav": {"type": "webdav", "url": url},
    }[kind]


HTTPS_BACKENDS = ["s3", "github", "http", "webdav"]


@pytest.mark.parametrize("kind", ["s3", "github", "http", "webdav"])
def test_a_self_signed_certificate_is_refused_by_default(cli: Cli, tmp_path: Path,
                                                        https_server: ScriptedHTTPServer, kind: str) -> None:
    https_server.files["bucket/x.txt" if kind == "s3" else "x.txt"] = b"over tls\n"
    profile = write_profile(tmp_path, {"tls": _https_options(kind, https_server.url)})
    result = cli("--retries", "0", "--timeout", "5", "cat", "tls:x.txt", profile=profile)
    assert result.returncode in (errors.TEMPORARY, errors.NOT_PERMITTED), result.err
    assert "Traceback" not in result.err and b"over tls" not in result.stdout
    assert "certificate" in result.err.lower() or "ssl" in result.err.lower()


@pytest.mark.parametrize("kind", ["s3", "github", "http", "webdav"])
def test_verify_ssl_false_works_and_prints_a_warning(cli: Cli, tmp_path: Path, https_server: ScriptedHTTPServer,
                                                     kind: str) -> None:
    https_server.files["bucket/x.txt" if kind == "s3" else "x.txt"] = b"over tls\n"
    https_server.files["repos/o/r/git/trees/main"] = b'{"sha": "main", "truncated": false, "tree": []}'
    options = {**_https_options(kind, https_server.url), "verify_ssl": False}
    profile = write_profile(tmp_path, {"tls": options})
    command = ("ls", "tls:") if kind == "github" else ("cat", "tls:x.txt")
    result = cli("--retries", "0", "--timeout", "5", *command, profile=profile)
    if kind == "webdav":  # the scripted server speaks no PROPFIND: only the TLS handshake is in question
        assert "certificate" not in result.err.lower() and "Traceback" not in result.err
    else:
        result.expect(errors.OK)
    assert "warning" in result.err.lower() and ("tls" in result.err.lower() or "certificate" in result.err.lower())


# GCS and Azure refuse a self-signed certificate with exit 6 and say how to go on (verify_ssl);
# with verify_ssl false they reach the server and warn once.
def _tls_store_options(kind: str, url: str, **extra: object) -> dict:
    if kind == "gcs":
        return {"type": "gcs", "bucket": "bucket", "endpoint_url": url, "token": "anon", "project": "p", **extra}
    return {"type": "azure", "container": "c", "account_name": "devstoreaccount1",
            "account_key": base64.b64encode(b"k" * 64).decode(), "endpoint_url": f"{url}/devstoreaccount1", **extra}


@pytest.mark.parametrize("kind", ["gcs", "azure"])
def test_a_self_signed_certificate_is_refused_with_exit_6(cli: Cli, tmp_path: Path, https_server: ScriptedHTTPServer,
                                                         kind: str) -> None:
    profile = write_profile(tmp_path, {"tls": _tls_store_options(kind, https_server.url)})
    result = cli("--retries", "0", "--timeout", "5", "cat", "tls:x.txt", profile=profile)
    assert result.returncode == 6, result.err
    assert "certificate verification failed" in result.err and "verify_ssl" in result.err


@pytest.mark.parametrize(("kind", "missing"), [("gcs", "no such bucket"), ("azure", "no such container")])
def test_verify_ssl_false_reaches_the_server_and_warns_once(cli: Cli, tmp_path: Path, https_server: ScriptedHTTPServer,
                                                           kind: str, missing: str) -> None:
    profile = write_profile(tmp_path, {"tls": _tls_store_options(kind, https_server.url, verify_ssl=False)})
    result = cli("--retries", "0", "--timeout", "5", "cat", "tls:x.txt", profile=profile)
    # The scripted server speaks HTTP only: an answer (no such bucket/container) proves the handshake passed.
    assert result.returncode == 3 and missing in result.err, result.err
    assert result.err.count("warning") == 1 and "TLS verification is off" in result.err
