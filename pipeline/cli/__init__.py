"""The command line: the only package that uses click, prints or exits.

`group` holds the `netgarden` group and the translation of errors; each other module holds a
family of thin commands (parse options, call the library, print): `setup` (init, rules),
`importing` (import, log, errors), `people` (contacts, classify, suggestions, merge, split),
`review` (review export and apply, ignore, unignore), `triage` (the same decisions one key at
a time), `reports` (report), `accounts` (auth, sync), `scheduled` (run, status, history).
`options` defines the options several commands share and `output` what they print with
(tables, progress).
"""

from pipeline.cli import accounts, importing, people, reports, review, scheduled, setup, triage
from pipeline.cli.group import main

__all__ = [
    "accounts",
    "importing",
    "main",
    "people",
    "reports",
    "review",
    "scheduled",
    "setup",
    "triage",
]
