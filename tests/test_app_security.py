"""Who can reach the app: the committed Streamlit config, the socket a real `streamlit run` opens,
and the home page's warning when the app is served beyond this computer."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import socket
from pathlib import Path

import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

from app.access import is_loopback
from benchmarks.local_app import running_app
from tests.app_fixtures import MAIN, TIMEOUT_S, open_page, plain, point_app_at, streamlit_config

SERVER_START_S = 120  # the shared test machine is busy: the first start imports torch
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s3cret-x",
        "client_id": "tagger", "client_secret": "client-s3cret",
        "server_metadata_url": "https://login.example.org/.well-known/openid-configuration"}


def test_committed_config_binds_to_loopback_and_keeps_xsrf_and_cors_on():
    server = streamlit_config()["server"]
    assert server["address"] == "127.0.0.1"
    assert server.get("enableXsrfProtection", True) is True
    assert server.get("enableCORS", True) is True
    assert set(server["allowedHosts"]) == {"localhost", "127.0.0.1", "::1"}


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def hex_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp{,6} addresses: 32-bit words in the machine's (little-endian) byte order."""
    raw = bytes.fromhex(text)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return ipaddress.ip_address(words)


def listening_addresses(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket the process listens on, IPv4 and IPv6."""
    mine, found = socket_inodes(pid), []
    for table in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{table}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == LISTEN and cols[9] in mine:
                address, port = cols[1].split(":")
                found.append((str(hex_address(address)), int(port, 16)))
    return found


def non_loopback_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.254.254.254", 9))
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.mark.skipif(not Path("/proc/self/net/tcp").exists(), reason="needs Linux /proc")
def test_streamlit_run_as_the_readme_says_listens_on_loopback_only(tmp_path, tiny_model_dir):
    env = {"TAGGER_DB": str(tmp_path / "tags.duckdb"), "TAGGER_AUDIO": str(tmp_path / "audio"),
           "TAGGER_MODEL": str(tiny_model_dir), "TAGGER_RUNS": str(tmp_path / "runs")}
    with running_app(env, tmp_path / "streamlit.log", SERVER_START_S, address=None) as (url, pid):
        port = int(url.rsplit(":", 1)[1])
        listening = listening_addresses(pid)
        assert any(p == port for _, p in listening), listening
        assert [a for a, p in listening if p == port] == ["127.0.0.1"], listening
        other = non_loopback_address()
        if other:
            with socket.socket() as s, pytest.raises(OSError):
                s.settimeout(5)
                s.connect((other, port))
        # DNS rebinding: a page on a domain that resolves to 127.0.0.1 gets no websocket
        assert websocket_status(port, f"127.0.0.1:{port}") == 101
        assert websocket_status(port, f"rebind.example:{port}") != 101


def websocket_status(port: int, host: str) -> int:
    """The HTTP status the app's websocket answers to an upgrade from a page at http://{host}."""
    request = (f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nOrigin: http://{host}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: streamlit\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(request.encode())
        status_line = s.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.0.1.1", True),
    ("", False), ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("myhost", False)])
def test_which_addresses_count_as_this_computer_only(address, loopback):
    assert is_loopback(address) is loopback


@pytest.fixture
def served_on():
    """Set server.address for an AppTest run (it reads the process's Streamlit config)."""
    before = st_config.get_option("server.address")
    yield lambda address: st_config.set_option("server.address", address)
    st_config.set_option("server.address", before)


def test_home_says_anyone_can_use_it_when_served_to_others(monkeypatch, tmp_path, tiny_model_dir,
                                                            served_on):
    point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    served_on("0.0.0.0")
    at = open_page()
    assert not at.exception
    warning = plain(at, ("warning",))
    assert "served on `0.0.0.0`" in warning
    assert "anyone who can reach this address can use it" in warning
    assert "Serving the app to others" in warning
    at = logged_in_home()
    assert "anyone who can reach this address and log in" in plain(at, ("info",))
    assert "no login" not in plain(at)
    served_on("127.0.0.1")
    at = open_page()
    assert "anyone who can reach" not in plain(at)


def logged_in_home() -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=TIMEOUT_S)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": True, "email": "ana@example.org", "name": "Ana"}
    at.run()
    assert not at.exception, at.exception
    return at


def test_with_login_configured_a_visitor_sees_only_the_login_button(monkeypatch, tmp_path,
                                                                     tiny_model_dir):
    point_app_at(monkeypatch, tmp_path, tiny_model_dir)
    at = open_page(secrets={"auth": AUTH})
    assert not at.exception
    assert not at.metric and not at.get("page_link")  # nothing of the app itself
    if importlib.util.find_spec("authlib"):
        assert [b.label for b in at.button] == ["Log in"]
        assert "Log in to use this app." in plain(at)
    else:  # st.login cannot work: the app says how to fix it, and stays closed
        assert not at.button and "pip install Authlib" in plain(at, ("error",))
    at = logged_in_home()  # logged in: the app itself
    assert at.metric and "Log in to use this app." not in plain(at)
    at = open_page()  # no [auth] section: no login asked
    assert not at.get("button") or "Log in" not in [b.label for b in at.button]
    assert at.metric
