"""The PartnerStack API keys: where they come from, and the checks that keep the secret secret.

Where (the first that applies):

1. an explicit config file (``--config PATH``): the user named it, so it wins;
2. the environment: ``PARTNERSTACK_PUBLIC_KEY`` and ``PARTNERSTACK_SECRET_KEY`` (both, or neither);
3. the default config file, ``partnerstack.toml`` in the user's config directory for ``diagnose``
   (``$XDG_CONFIG_HOME/diagnose`` or ``~/.config/diagnose`` on Linux and other Unixes,
   ``~/Library/Application Support/diagnose`` on macOS, ``%APPDATA%\\diagnose`` on Windows: the
   directory ``click.get_app_dir("diagnose")`` names, computed here without click).

The file is TOML with two strings, at the top level or under a ``[partnerstack]`` table::

    public_key = "pk_..."
    secret_key = "sk_..."

A file holding a secret that its group or other users may read is refused (on POSIX systems) with
the ``chmod 600`` to run. Every refusal is a :class:`BadInput` (exit 2) that never quotes the secret.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from diagnose.core.errors import BadInput
from diagnose.core.partnerstack import (
    API_PUBLIC_KEY_ENV,
    API_SECRET_KEY_ENV,
    API_TEST_KEY_RE,
    SECRET_KEY_RE,
)

APP_NAME = "diagnose"
CONFIG_NAME = "partnerstack.toml"
CONFIG_TABLE = "partnerstack"
CONFIG_KEYS = ("public_key", "secret_key")
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Credentials:
    """A program's API key pair. The secret is left out of ``repr`` (and so of ``str``)."""

    public_key: str
    secret_key: str = field(repr=False)
    source: str = field(default="", compare=False)  # where they were read: "environment" or a file path

    def __post_init__(self) -> None:
        for name, value in (("public key", self.public_key), ("secret key", self.secret_key)):
            if not isinstance(value, str) or not value.strip():
                raise BadInput(f"the PartnerStack {name} is empty{_from(self.source)}")
            if _BAD_CHARS.search(value):
                raise BadInput(f"the PartnerStack {name} contains spaces or control characters{_from(self.source)}"
                               " (copy it again from the dashboard)")
        if ":" in self.public_key:
            raise BadInput(f"the PartnerStack public key contains ':'{_from(self.source)}: it cannot be a key")
        if self.public_key == self.secret_key:
            raise BadInput(f"the PartnerStack public and secret keys are the same{_from(self.source)}")
        if self.public_key.startswith("sk_") and self.secret_key.startswith("pk_"):
            raise BadInput(f"the PartnerStack public and secret keys look swapped{_from(self.source)} "
                           "(the public key starts with pk_, the secret key with sk_)")

    @property
    def test(self) -> bool:
        """Test keys (they create test customers under the test partner). The key shape is our guess:
        "test" in either key's prefix (pk_test_..., sk_test_...)."""
        return bool(API_TEST_KEY_RE.match(self.public_key) or API_TEST_KEY_RE.match(self.secret_key))

    @property
    def public_hint(self) -> str:
        """The public key shortened for messages (enough to tell two key pairs apart)."""
        key = self.public_key
        return key if len(key) <= 12 else key[:12] + "…"

    def scrub(self, text: str) -> str:
        """``text`` with the secret key (and anything shaped like one) replaced by ``[secret]``."""
        return scrub(text, self.secret_key)


def scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return SECRET_KEY_RE.sub("[secret]", text) if "sk_" in text else text


def _from(source: str) -> str:
    return f" (read from {source})" if source else ""


def default_config_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The user's config directory for diagnose (what click.get_app_dir("diagnose") gives)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or Path.home())
    if platform.startswith("win"):
        base = env.get("APPDATA") or env.get("LOCALAPPDATA") or str(home / "AppData" / "Roaming")
        return Path(base) / APP_NAME
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP_NAME
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / APP_NAME


def default_config_path(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    return default_config_dir(env, platform) / CONFIG_NAME


def load_credentials(config: str | Path | None = None, env: Mapping[str, str] = os.environ) -> Credentials:
    """The API keys: from ``config`` when given, else the environment, else the default config file.
    BadInput (exit 2) when they are missing, half given, unreadable, or the file is too open."""
    if config is not None:
        return _from_file(Path(config).expanduser())
    public, secret = (env.get(API_PUBLIC_KEY_ENV) or "").strip(), (env.get(API_SECRET_KEY_ENV) or "").strip()
    if public and secret:
        return Credentials(public, secret, source="environment")
    if public or secret:
        have, lack = (API_PUBLIC_KEY_ENV, API_SECRET_KEY_ENV) if public else (API_SECRET_KEY_ENV, API_PUBLIC_KEY_ENV)
        raise BadInput(f"{have} is set but {lack} is not: set both (a key pair is used together)")
    path = default_config_path(env)
    if not path.exists():
        raise BadInput(f"no PartnerStack API keys: set {API_PUBLIC_KEY_ENV} and {API_SECRET_KEY_ENV}, or write "
                       f'public_key = "…" and secret_key = "…" to {path} (then chmod 600 it)')
    return _from_file(path)


def _from_file(path: Path) -> Credentials:
    shown = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"config file {shown} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"config file {shown} is a directory, not a file") from None
    except OSError as exc:
        raise BadInput(f"cannot read config file {shown}: {exc.strerror or type(exc).__name__}") from None
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadInput(f"config file {shown} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        # tomllib's messages name a place, not the text; scrub anyway (a secret-shaped word)
        raise BadInput(f"config file {shown} is not valid TOML ({scrub(str(exc))}): write "
                       f'public_key = "…" and secret_key = "…", with the quotes') from None
    table = document.get(CONFIG_TABLE) if isinstance(document.get(CONFIG_TABLE), dict) else document
    unknown = sorted({*table, *document} - {*CONFIG_KEYS, CONFIG_TABLE} if table is not document
                     else set(table) - set(CONFIG_KEYS))
    if unknown:
        # the unknown setting's name is not shown: a secret pasted as a name would be printed
        raise BadInput(f"config file {shown}: {len(unknown)} unknown setting(s) (expected only "
                       f"{' and '.join(CONFIG_KEYS)}, at the top or under [{CONFIG_TABLE}])")
    values = {}
    for name in CONFIG_KEYS:
        value = table.get(name)
        if value is not None and not isinstance(value, str):
            raise BadInput(f"config file {shown}: {name} must be a string in quotes")
        values[name] = (value or "").strip()
    if values["secret_key"]:
        _check_private(path)
    if not values["public_key"] or not values["secret_key"]:
        missing = " and ".join(k for k in CONFIG_KEYS if not values[k])
        raise BadInput(f"config file {shown} has no {missing}")
    return Credentials(values["public_key"], values["secret_key"], source=shown)


def _check_private(path: Path) -> None:
    """Refuse a file holding a secret that the group or other users may read (POSIX only)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise BadInput(f"{path} holds the PartnerStack secret key but other users may read it "
                       f"(mode {mode:04o}): run `chmod 600 {shlex.quote(str(path))}`")
