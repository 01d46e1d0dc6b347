"""`tenantry dev` start-up guards: where it listens, who it refuses, what it writes.

These run `tenantry.local.dev.run` in-process on paths that stop before the emulator starts (a
refused host, an address that cannot be bound), so they are cheap.
"""

from __future__ import annotations

import errno
import io
import socket
import stat
from pathlib import Path

import pytest

from tenantry.local import dev
from tenantry.appsync.auth.api_key import API_KEY_PREFIX, new_api_key
from tests.e2e.support import free_port

pytestmark = pytest.mark.functional

ROOT = Path(__file__).resolve().parents[2]
NOT_HERE = "192.0.2.1"        # TEST-NET-1 (RFC 5737): never an address of this machine


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_an_address_that_is_not_local_is_its_own_error_not_a_busy_port(capsys):
    # GIVEN a host this machine does not have (remote allowed, so only the bind can fail)
    options = dev.DevOptions(root=ROOT, host=NOT_HERE, port=free_port(), allow_remote=True)
    # WHEN tenantry dev starts
    code = dev.run(options, out=io.StringIO())
    # THEN it fails with exit 1 and says why, without calling the port busy
    err = capsys.readouterr().err
    assert code == dev.EXIT_FAILED
    assert f"cannot listen on {NOT_HERE}:" in err
    assert "already in use" not in err


def test_bind_reports_the_errno_of_a_non_eaddrinuse_failure():
    with pytest.raises(dev.BindError) as raised:
        dev.bind(NOT_HERE, 0)
    assert raised.value.error_code == errno.EADDRNOTAVAIL
    assert raised.value.host == NOT_HERE


def test_a_busy_port_is_still_port_in_use():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(dev.PortInUseError) as raised:
            dev.bind("127.0.0.1", taken.getsockname()[1])
    assert raised.value.host == "127.0.0.1"


def test_an_unknown_host_name_is_a_bind_error():
    with pytest.raises(dev.BindError):
        dev.bind("no-such-host.invalid", 0)


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
def test_an_ipv6_host_is_bound_with_the_ipv6_family_and_bracketed_in_urls():
    sock = dev.bind("::1", 0)
    try:
        assert sock.family == socket.AF_INET6
    finally:
        sock.close()
    urls = dev.endpoints("acme", "::1", 4000)
    assert urls.graphql_url == "http://[::1]:4000/acme/graphql"
    assert urls.realtime_url == "ws://[::1]:4000/acme/graphql/realtime"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                            ("0.0.0.0", False), (NOT_HERE, False)])
def test_loopback_detection(host, loopback):
    assert dev.is_loopback(host) is loopback


def test_a_non_loopback_host_is_refused_without_allow_remote(capsys):
    # GIVEN --host 0.0.0.0 without --allow-remote
    options = dev.DevOptions(root=ROOT, host="0.0.0.0", port=free_port())
    # WHEN tenantry dev starts THEN it warns that the IAM credentials are public and exits 2
    code = dev.run(options, out=io.StringIO())
    err = capsys.readouterr().err
    assert code == dev.EXIT_REMOTE_REFUSED == 2
    assert "IAM credentials are public" in err and "--allow-remote" in err


def test_api_keys_are_random_per_run():
    first, second = new_api_key(), new_api_key()
    assert first != second
    assert first.startswith(API_KEY_PREFIX) and second.startswith(API_KEY_PREFIX)


def test_dev_json_is_owner_only_even_over_an_older_readable_file(tmp_path):
    # GIVEN a world-readable dev.json from an earlier run
    path = tmp_path / ".tenantry" / "dev.json"
    path.parent.mkdir()
    path.write_text("{}")
    path.chmod(0o644)
    # WHEN this run writes its keys
    dev.write_dev_json(path, {"acme": dev.endpoints("acme", "127.0.0.1", 4000)})
    # THEN only the owner can read it
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
