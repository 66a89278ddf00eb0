"""The broker ACL of docs/technician.md ("Broker side"), loaded as it stands into a real Mosquitto.

`documented_acl()` reads the first fenced block of that section, so tests and the doc cannot drift.
`AclBroker` is a Mosquitto with `allow_anonymous false`, a password file and that ACL; the doc's block for
register S001-R1 is its template "one block per register", so each further device a test names gets the
same block with its own store and register put in (`device_block`). Every user's password is
`password(user)`; `password_file(user)` writes it 0600, as `--password-file` and `[broker] password_file`
want it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from pathlib import Path

from tests.support.mosquitto import Mosquitto

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "technician.md"
TEMPLATE_DEVICE = ("S001", "R1")  # the register the doc's device block is written for
FLEET_USER = "fleet"  # the ingest workers' user in the doc


def documented_acl() -> str:
    """The first fenced block of the technician guide's "Broker side" section, as it stands."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("\n## Broker side"):]
    section = section[:section.index("\n## ", 1)]
    match = re.search(r"^```[^\n]*\n(.*?)^```", section, re.S | re.M)
    assert match, "docs/technician.md: no ACL block in the Broker side section"
    return match.group(1)


def grants(acl: str) -> dict[str, set[tuple[str, str]]]:
    """user -> {(access, topic)} of a Mosquitto ACL file (`topic TOPIC` alone means readwrite)."""
    out: dict[str, set[tuple[str, str]]] = {}
    user = None
    for line in acl.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "user":
            user = words[1]
            out[user] = set()
        elif words[0] == "topic":
            assert user is not None, f"ACL line outside a user block: {line!r}"
            access, topic = (words[1], words[2]) if len(words) == 3 else ("readwrite", words[1])
            out[user].add((access, topic))
        else:
            raise AssertionError(f"unexpected ACL line: {line!r}")
    return out


def device_user(store: str, register: str) -> str:
    """A register's broker username, as the doc writes it (`S001-R1`)."""
    return f"{store}-{register}"


def device_block(store: str, register: str, acl: str | None = None) -> str:
    """The doc's block for S001-R1 with another register's store and register put in, line for line."""
    acl = documented_acl() if acl is None else acl
    s, r = TEMPLATE_DEVICE
    lines = acl.splitlines()
    start = lines.index(f"user {device_user(s, r)}")
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith("topic ")), len(lines))
    block = "\n".join(lines[start:end])
    assert block.count("\n") >= 10, f"the doc's device block looks truncated:\n{block}"
    block = block.replace(f"user {device_user(s, r)}", f"user {device_user(store, register)}")
    block = block.replace(f"kassa/v1/{s}/{r}/", f"kassa/v1/{store}/{register}/")
    return block.replace(f"kassa/v1/{s}/", f"kassa/v1/{store}/") + "\n"


def acl_for(devices: Iterable[tuple[str, str]]) -> str:
    """The documented ACL as it stands, plus the documented device block for each other register."""
    acl = documented_acl()
    extra = [device_block(s, r, acl) for s, r in dict.fromkeys(devices) if (s, r) != TEMPLATE_DEVICE]
    return acl + "".join("\n" + block for block in extra)


def password(user: str) -> str:
    return f"{user}-pw"


class AclBroker(Mosquitto):
    """Mosquitto with per-user passwords and the documented ACL (plus a device block per named register).

    No anonymous access: every client must log in as a user of the ACL. Anything Mosquitto takes is passed on.
    """

    def __init__(self, workdir: Path, devices: Iterable[tuple[str, str]] = (TEMPLATE_DEVICE,), **kwargs: object):
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        self.acl = acl_for(devices)
        self.users = sorted(grants(self.acl))
        (workdir / "acl").write_text(self.acl)
        passwd = workdir / "passwd"
        passwd.write_text("".join(f"{u}:{password(u)}\n" for u in self.users))
        passwd.chmod(0o600)
        subprocess.run(["mosquitto_passwd", "-U", str(passwd)], check=True)  # hash them all in place, one call
        extra = f"password_file {passwd}\nacl_file {workdir / 'acl'}\n" + str(kwargs.pop("extra_config", ""))
        super().__init__(workdir, anonymous=False, extra_config=extra, **kwargs)  # type: ignore[arg-type]

    def password_file(self, user: str) -> Path:
        """A 0600 file holding `user`'s password (kassa-fleet --password-file, the register's password_file)."""
        assert user in self.users, f"{user} is not a user of this broker's ACL ({', '.join(self.users)})"
        path = self.workdir / "secrets" / f"{user}.pass"
        path.parent.mkdir(mode=0o700, exist_ok=True)
        path.write_text(password(user) + "\n")
        path.chmod(0o600)
        return path
