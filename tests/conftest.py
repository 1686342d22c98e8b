"""Shared fixtures: a temporary netgarden home, the real-world corpus, the fake Google and the
fake Microsoft, and the guard that keeps every test on this machine."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.google import FakeGoogle
from tests.fakes.microsoft import FakeMicrosoft
from tests.helpers import CORPUS, DEMO_FILES, ME, SAMPLE

#: Set by .ci/run: a missing corpus is then an error, never a reason to skip.
REQUIRE_CORPUS = "NETGARDEN_REQUIRE_CORPUS"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty netgarden home; $NETGARDEN_HOME points at it so nothing touches the real one."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NETGARDEN_HOME", str(folder))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "250")  # tables wider than a CI log's default 80 columns
    return folder


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled sample data imported and merged (as `make demo`), made once."""
    from tests.helpers import run

    home = tmp_path_factory.mktemp("demo") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NETGARDEN_HOME", str(home))
        patch.setenv("TZ", "UTC")
        assert run("init").exit_code == 0
        for name in ("networks.toml", "overrides.toml"):
            shutil.copy(SAMPLE / name, home / name)
        assert run("import", *(str(SAMPLE / n) for n in DEMO_FILES)).exit_code == 0
        assert run("suggestions", "--accept").exit_code == 0
    return home


@pytest.fixture
def demo(demo_home: Path, home: Path) -> Path:
    """A fresh copy of the demo home, as the `home` of this test."""
    shutil.copytree(demo_home, home)
    return home


@pytest.fixture
def corpus() -> Path:
    """../shared/corpus, the real-world files. Without it, the tests that ask for it are not
    run (`pytest_collection_modifyitems`), except under CI, where they fail here."""
    if not CORPUS.is_dir():
        pytest.fail(f"the real-world corpus {CORPUS} is missing ({REQUIRE_CORPUS} is set)")
    return CORPUS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a clone without ../shared, set the tests that read the corpus aside (CI, which sets
    REQUIRE_CORPUS, keeps them: they fail instead)."""
    if CORPUS.is_dir() or os.environ.get(REQUIRE_CORPUS):
        return
    reading = [item for item in items if "corpus" in getattr(item, "fixturenames", ())]
    if reading:
        items[:] = [item for item in items if item not in reading]
        config.hook.pytest_deselected(items=reading)
        config.stash[_CORPUS_SKIPPED] = len(reading)


_CORPUS_SKIPPED = pytest.StashKey[int]()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    skipped = config.stash.get(_CORPUS_SKIPPED, 0)
    if skipped:
        terminalreporter.write_line(
            f"SKIPPED {skipped} tests that read the real-world corpus: {CORPUS} was not found "
            "(see README: Tests)",
            yellow=True,
        )


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    """The fake Google on loopback: one account, ME, with a send-as alias."""
    with FakeGoogle(ME, send_as=["me@alias.example"]) as fake:
        yield fake


@pytest.fixture
def microsoft(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMicrosoft]:
    """The fake Microsoft on loopback (TLS with its own CA), one mailbox: ME."""
    with FakeMicrosoft(ME) as fake:
        # How a user points netgarden at a private CA: requests (and so msal) trust the bundle.
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        yield fake


def _loopback(address: object) -> bool:
    """Whether a socket address is on this machine (or a Unix socket)."""
    if not isinstance(address, tuple):
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it would be resolved and leave the machine


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """No test reaches beyond loopback: a connection anywhere else fails at once."""
    original = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> None:
        if not _loopback(address):
            raise OSError(f"tests may not leave the machine (connect to {address!r})")
        original(self, address)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guarded)
        yield
