"""Stable record keys for sources whose records carry no id of their own."""

from __future__ import annotations

from pipeline.normalize import name_key


def base_key(uid: str, emails: list[str], name: str, organization: str) -> str:
    """A record's key: its own id (a vCard UID, a profile URL), else its first e-mail, else its
    name and organization. A newer export of the same record gives the same key."""
    if uid:
        return uid if ":" in uid else f"uid:{uid}"
    if emails:
        return f"email:{emails[0]}"
    return f"name:{name_key(name)}|{name_key(organization)}"


class KeyMaker:
    """Makes the keys of one file unique: two records with the same key are both kept, the
    second as `key#2`, and so on, in file order."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def unique(self, key: str) -> str:
        count = self._seen.get(key, 0) + 1
        self._seen[key] = count
        return key if count == 1 else f"{key}#{count}"

    def key(self, uid: str, emails: list[str], name: str, organization: str) -> str:
        return self.unique(base_key(uid, emails, name, organization))
