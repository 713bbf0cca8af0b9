"""CurveZMQ keys for the control socket and the bot link: generate, load, apply.

A control socket bound beyond loopback lets anyone who can reach it halt or
resume trading, so it must authenticate. The layout under ``keys_dir``:

    server.key, server.key_secret    the kernel's key pair
    client.key, client.key_secret    this machine's operator key pair
    authorized/*.key                 public keys of clients allowed in

    bots/<id>.key, bots/<id>.key_secret   one key pair per bot of a fleet

``kernel keys generate`` writes all of it (the client's public key is also
placed in ``authorized/``). Copy ``client.key_secret`` and ``server.key`` to an
operator's machine to let it in; remove a file from ``authorized/`` to revoke.

With ``gateway: {curve: true}`` the bot link authenticates too: ``kernel keys
generate --bot ID`` writes ``bots/ID.key_secret`` for that bot's host (with
``server.key``), and a link whose key is bot A's may only say hello as A
(docs/fleet.md, "Bots on other hosts"). Delete ``bots/ID.key`` to revoke.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
import zmq.auth
import zmq.utils.z85
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


def generate_bot(keys_dir: Path, bot_id: str) -> list[Path]:
    """One bot's key pair (and the server's, if there is none yet); never overwrites."""
    written: list[Path] = []
    if not (keys_dir / "server.key_secret").exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        (keys_dir / "authorized").mkdir(exist_ok=True)
        written += [Path(p) for p in zmq.auth.create_certificates(keys_dir, "server")]
    bots = keys_dir / "bots"
    if (bots / f"{bot_id}.key_secret").exists():
        raise FileExistsError(f"{bots / (bot_id + '.key_secret')} already exists; delete "
                              f"bots/{bot_id}.key and .key_secret first to replace the key")
    bots.mkdir(parents=True, exist_ok=True)
    written += [Path(p) for p in zmq.auth.create_certificates(bots, bot_id)]
    return written


def load_bot_keys(keys_dir: Path, bot_ids: list[str]) -> dict[bytes, str]:
    """Public key (z85) -> bot id, for each configured bot that has a key file."""
    found: dict[bytes, str] = {}
    for bot_id in bot_ids:
        path = keys_dir / "bots" / f"{bot_id}.key"
        if path.exists():
            public, _ = _load(path, need_secret=False)
            found[public] = bot_id
    return found


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


BOT_DOMAIN = "bots"
"""The ZAP domain of the bot link (the control socket keeps the default)."""


class _KeyRing:
    """pyzmq's credentials provider: a fixed set of z85 public keys."""

    def __init__(self, keys: set[bytes]) -> None:
        self.keys = keys

    def callback(self, domain: str, key: bytes) -> bool:
        return key in self.keys


class _Authenticator(ThreadAuthenticator):
    """Names a bot's connection ``bot:<id>`` (its messages' ``User-Id``)."""

    def __init__(self, context: zmq.Context[Any], bots: dict[bytes, str]) -> None:
        super().__init__(context)
        self.bots = bots

    def curve_user_id(self, client_public_key: bytes) -> str:
        z85 = zmq.utils.z85.encode(client_public_key)
        bot = self.bots.get(z85)
        return f"bot:{bot}" if bot is not None else z85.decode("ascii")


def start_authenticator(context: zmq.Context[Any], keys: ServerKeys | None, *,
                        bots: dict[bytes, str] | None = None) -> ThreadAuthenticator:
    """ZAP handler: the control socket admits the public keys in ``authorized/``; the
    bot link (domain ``bots``) the fleet's bot keys, naming each connection's bot."""
    auth = _Authenticator(context, dict(bots or {}))
    auth.start()
    if keys is not None:
        clients = set(zmq.auth.load_certificates(str(keys.authorized_dir)))
        auth.configure_curve_callback(domain="*", credentials_provider=_KeyRing(clients))
    if bots is not None:
        auth.configure_curve_callback(domain=BOT_DOMAIN,
                                      credentials_provider=_KeyRing(set(bots)))
    return auth
