"""Every command has help, and the README tells a newcomer about every command."""

from __future__ import annotations

import click
from click.testing import CliRunner

from pipeline.cli import main
from tests.helpers import REPO


def commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        found.append((prefix + name, command))
        if isinstance(command, click.Group):
            found += commands(command, prefix + name + " ")
    return found


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme.index("make demo") < readme.index("## A tour")
    assert readme.index("make test") < readme.index("## A tour")
    for name, command in commands(main):
        assert command.help, f"{name} has no help"
        result = CliRunner().invoke(main, [*name.split(), "--help"])
        assert result.exit_code == 0
        assert f"netgarden {name}" in readme, f"the README does not mention `netgarden {name}`"
