"""Stable record keys for sources whose records carry no id of their own."""

from __future__ import annotations

from pipeline.normalize import name_key


class KeyMaker:
    """Gives each record of one file a `source_id` that a newer export of it will share.

    The key is the record's own id when it has one (a vCard UID, a profile URL), else its first
    e-mail, else its name and organization. Two records of one file with the same key are both
    kept: the second gets `#2`, and so on, in file order.
    """

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def key(self, uid: str, emails: list[str], name: str, organization: str) -> str:
        if uid:
            key = uid if ":" in uid else f"uid:{uid}"
        elif emails:
            key = f"email:{emails[0]}"
        else:
            key = f"name:{name_key(name)}|{name_key(organization)}"
        count = self._seen.get(key, 0) + 1
        self._seen[key] = count
        return key if count == 1 else f"{key}#{count}"
