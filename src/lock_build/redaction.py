"""The one place credentials are taken out of text before it is shown, stored or hashed.

Credentials reach lock-build as URLs in every spelling a user can type: a flag with a
space or an ``=`` (``--index-url=https://u:p@host``), glued short options
(``-ihttps://u:p@host``), requirement-file lines, ``PIP_*`` variables, pip.conf,
direct references (``pkg @ git+https://token@host/repo``). So redaction works on any
text, not on one URL: every ``scheme://userinfo@`` in it is masked, and so is the
value of every query parameter that looks like a secret (``?token=…``).
"""

from __future__ import annotations

import re

__all__ = ["MASK", "redact"]

# scheme://userinfo@ — userinfo is everything up to the last "@" before the host's end.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/\s?#\"'<>]*)@")
_TOKEN_PARAMS = re.compile(
    r"(?i)(?P<key>[?&](?:[a-z0-9_\-]*)(?:token|password|passwd|secret|key|auth|signature|sig)=)"
    r"[^&\s#\"'<>]*"
)
MASK = "****"


def redact(text: str, *, keep_user: bool = True) -> str:
    """``text`` with every credential masked.

    ``keep_user`` (for display): ``https://user:pw@host`` → ``https://user:****@host``,
    and a lone userinfo, usually a token, → ``https://****@host``. Without it (for
    digests and recorded commands, which must not change when a password or a user
    does) the whole userinfo becomes ``***``: ``https://***@host``.
    """
    if "@" in text:
        text = _USERINFO.sub(_mask_userinfo if keep_user else _anonymous, text)
    if "=" in text:
        text = _TOKEN_PARAMS.sub(lambda m: m["key"] + MASK, text)
    return text


def _mask_userinfo(match: re.Match[str]) -> str:
    user, sep, _password = match["userinfo"].partition(":")
    return f"{match['scheme']}{user}:{MASK}@" if sep else f"{match['scheme']}{MASK}@"


def _anonymous(match: re.Match[str]) -> str:
    return f"{match['scheme']}***@"
