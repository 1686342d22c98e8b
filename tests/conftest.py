"""Shared fixtures: the real-world corpus, fixture files, and a temporary netgarden home."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty netgarden home; $NETGARDEN_HOME points at it so nothing touches the real one."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NETGARDEN_HOME", str(folder))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "250")  # tables wider than a CI log's default 80 columns
    return folder
