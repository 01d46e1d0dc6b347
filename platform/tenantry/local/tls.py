"""TLS for `tenantry dev --tls`: a local certificate authority and a server certificate from it.

AWS Amplify JS always dials `wss://` for the real-time endpoint, so the twin must speak TLS to be
used unchanged. The CA is made with `trustme` (on `cryptography`), kept under
`.tenantry/tls/` so a machine that trusts it once (NODE_EXTRA_CA_CERTS, a browser, `ssl` in
Python) keeps trusting it; its key never leaves that folder (owner-only). The server certificate
is issued anew at every start, for loopback and the host `tenantry dev` listens on.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme

CA_FILE = "ca.pem"
CA_KEY_FILE = "ca-key.pem"
ORGANIZATION = "Tenantry local development CA"
SERVER_CERT_DAYS = 30
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class LocalTLS:
    ca_file: Path                    # what clients must trust
    server_context: ssl.SSLContext   # what the server listens with


def local_tls(directory: Path, host: str) -> LocalTLS:
    """Load (or create, once) the local CA in `directory`; issue this run's server certificate."""
    ca = _load_or_create_ca(directory)
    names = list(dict.fromkeys([*LOOPBACK_NAMES, _bare(host)]))
    now = dt.datetime.now(dt.timezone.utc)
    leaf = ca.issue_cert(*names, common_name="tenantry dev", not_before=now - dt.timedelta(minutes=5),
                         not_after=now + dt.timedelta(days=SERVER_CERT_DAYS))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return LocalTLS(directory / CA_FILE, context)


def _load_or_create_ca(directory: Path) -> trustme.CA:
    cert, key = directory / CA_FILE, directory / CA_KEY_FILE
    directory.mkdir(parents=True, exist_ok=True)
    # Two runs starting at once (two terminals, parallel tests) must agree on one CA.
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cert.exists() and key.exists():
            return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())
        ca = trustme.CA(organization_name=ORGANIZATION)
        _write_private(key, ca.private_key_pem.bytes())
        tmp = cert.with_suffix(".tmp")
        ca.cert_pem.write_to_path(str(tmp))
        tmp.replace(cert)     # the key first, then the certificate: a half-made CA is never loaded
        return ca


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def _bare(host: str) -> str:
    """A host as a certificate names it: an IPv6 literal without brackets."""
    bare = host.strip("[]")
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        return bare
