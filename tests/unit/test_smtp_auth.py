"""scrypt password hashes and the SMTP authenticator."""

from __future__ import annotations

import pytest

from gateway.config import SmtpAuthUser
from gateway.passwords import hash_password, parse_hash, verify_password
from gateway.smtp.auth import Authenticator


def test_hash_format_and_verify() -> None:
    stored = hash_password("s3cret pässword")
    scheme, n, r, p, _salt, _digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    assert verify_password("s3cret pässword", stored)
    assert verify_password("s3cret pässword".encode(), stored)
    assert not verify_password("s3cret password", stored)
    assert not verify_password("", stored)


def test_salted() -> None:
    assert hash_password("same") != hash_password("same")


def test_parameters_are_read_from_the_hash() -> None:
    stored = hash_password("pw", n=2**10, r=4, p=2)
    assert parse_hash(stored)[:3] == (1024, 4, 2)
    assert verify_password("pw", stored)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain-text-password",
        "scrypt$16384$8$1$c2FsdA==",  # missing field
        "bcrypt$16384$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",
        "scrypt$1000$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",  # n not a power of two
        "scrypt$4294967296$8$1$c2FsdHNhbHQ=$aGFzaGhhc2hoYXNoaGFzaA==",  # n absurdly large
        "scrypt$16384$8$1$not base64!$aGFzaGhhc2hoYXNoaGFzaA==",
        "scrypt$16384$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA==",  # salt too short
    ],
)
def test_malformed_hash_never_matches(stored: str) -> None:
    assert not verify_password("anything", stored)
    with pytest.raises(ValueError):
        parse_hash(stored)


def test_authenticator() -> None:
    auth = Authenticator([SmtpAuthUser(username="mta", password_hash=hash_password("pw", n=2**10))])
    assert auth.configured
    assert auth.check(b"mta", b"pw") == "mta"
    assert auth.check(b"mta", b"pw") == "mta"  # from the cache of successes
    assert auth.check(b"mta", b"wrong") is None
    assert auth.check(b"nobody", b"pw") is None
    assert auth.check(b"\xff", b"pw") is None


def test_authenticator_refuses_a_broken_hash_at_start() -> None:
    with pytest.raises(ValueError, match="mta"):
        Authenticator([SmtpAuthUser(username="mta", password_hash="plain")])
