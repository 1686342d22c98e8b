"""The in-memory connector keeps the contract the runner's and the store's tests rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.memory import MemoryConnector
from pipeline.errors import FormatError
from pipeline.model import Contact, Handle, Problem
from tests.connectors.contract import ConnectorContract, Make

ANN = Contact(
    "memory", "email:ann@example.com", "Ann", handles=(Handle("email", "ann@example.com"),)
)


class TestContract(ConnectorContract):
    @pytest.fixture
    def fresh(self, tmp_path: Path) -> Make:
        return lambda: MemoryConnector([ANN], tmp_path / "list")

    @pytest.fixture
    def damaged(self, tmp_path: Path) -> Make:
        bad = Problem(str(tmp_path / "list"), 2, "raw text", "unreadable")
        return lambda: MemoryConnector([ANN, bad], tmp_path / "list")

    @pytest.fixture
    def unreadable(self, tmp_path: Path) -> Make:
        refused = FormatError(tmp_path / "list", "not records")
        return lambda: MemoryConnector([refused, ANN], tmp_path / "list")
