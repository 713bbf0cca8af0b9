"""CurveZMQ keys for the control socket: generate, load, apply.

A control socket bound beyond loopback lets anyone who can reach it halt or
resume trading, so it must authenticate. The layout under ``keys_dir``:

    server.key, server.key_secret    the kernel's key pair
    client.key, client.key_secret    this machine's operator key pair
    authorized/*.key                 public keys of clients allowed in

``kernel keys generate`` writes all of it (the client's public key is also
placed in ``authorized/``). Copy ``client.key_secret`` and ``server.key`` to an
operator's machine to let it in; remove a file from ``authorized/`` to revoke.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator


class KeysMissing(Exception):
    """Curve is configured but a key file is absent or unreadable."""


@dataclass(frozen=True, slots=True)
class ServerKeys:
    public: bytes
    secret: bytes
    authorized_dir: Path


@dataclass(frozen=True, slots=True)
class ClientKeys:
    public: bytes
    secret: bytes
    server_public: bytes


def generate(keys_dir: Path) -> list[Path]:
    """Create the server and client key pairs and authorise the client; never
    overwrite existing keys (that would lock every operator out)."""
    if (keys_dir / "server.key_secret").exists():
        raise FileExistsError(f"{keys_dir / 'server.key_secret'} already exists; remove the "
                              "folder first if you really want new keys")
    authorized = keys_dir / "authorized"
    authorized.mkdir(parents=True, exist_ok=True)
    server_public, server_secret = zmq.auth.create_certificates(keys_dir, "server")
    client_public, client_secret = zmq.auth.create_certificates(keys_dir, "client")
    shutil.copy(client_public, authorized / "client.key")
    return [Path(p) for p in (server_public, server_secret, client_public, client_secret)]


def load_server(keys_dir: Path) -> ServerKeys:
    public, secret = _load(keys_dir / "server.key_secret")
    authorized = keys_dir / "authorized"
    if not authorized.is_dir():
        raise KeysMissing(f"{authorized} is missing: no client could ever connect. "
                          "Fix: run `kernel keys generate`.")
    return ServerKeys(public, secret, authorized)


def load_client(keys_dir: Path) -> ClientKeys:
    public, secret = _load(keys_dir / "client.key_secret")
    server_public, _ = _load(keys_dir / "server.key", need_secret=False)
    return ClientKeys(public, secret, server_public)


def _load(path: Path, *, need_secret: bool = True) -> tuple[bytes, bytes]:
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeysMissing(f"cannot read key file {path}: {exc}. "
                          "Fix: run `kernel keys generate`, or correct security.keys_dir.") from exc
    if need_secret and not secret:
        raise KeysMissing(f"{path} holds no secret key")
    return public, secret or b""


def make_curve_server(sock: zmq.Socket[Any], keys: ServerKeys) -> None:
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_server = True


def make_curve_client(sock: zmq.Socket[Any], keys: ClientKeys) -> None:
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_serverkey = keys.server_public


def start_authenticator(context: zmq.Context[Any], keys: ServerKeys) -> ThreadAuthenticator:
    """ZAP handler admitting only the public keys in ``authorized/``."""
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(keys.authorized_dir))
    return auth
