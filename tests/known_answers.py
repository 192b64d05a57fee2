"""Known answers for pseudonymisation, computed without joinedup.

A ``person_id`` is the first 20 hex characters of HMAC-SHA256(key, the NHS number as ten
digits) (docs/ingest.md, "Pseudonymisation"); a source key's is the same of
``scheme:value``. The functions here compute that with the standard library alone
(``hmac``, ``hashlib``), so a test that takes its expected ids from them fails if the
product stops using the key, changes the hash or the truncation, or hashes other text.

The literals below pin the algorithm itself: a change to it fails the known-answer tests
even if this module were changed to match. They were computed once with OpenSSL 3.0,
independently of Python, e.g.::

    printf 9434765919 | openssl dgst -sha256 -mac HMAC \\
        -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

and agree with ``hmac.new(KEY, b"9434765919", hashlib.sha256).hexdigest()``.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

#: The length of a person id in hex characters (80 bits), typed again on purpose.
ID_HEX_CHARS = 20

#: NHS Digital's published example of a valid NHS number.
NHS_NUMBER = "9434765919"

#: A fixed 32-byte key (bytes 0 to 31) and the full HMAC-SHA256 of NHS_NUMBER under it.
KEY = bytes(range(32))
KEY_HMAC = "dd5c602eeb31d60c7c0d662c897231dda00e13cdf945b14cad185a4a7125826c"
PERSON_ID = KEY_HMAC[:ID_HEX_CHARS]  # "dd5c602eeb31d60c7c0d"

#: KEY with its last byte one less (one bit differs), and NHS_NUMBER's id under it.
OTHER_KEY = bytes(range(31)) + b"\x1e"
OTHER_PERSON_ID = "12255f2faab17875c860"

#: A 100-byte key: longer than SHA-256's 64-byte block, so HMAC hashes the key first.
LONG_KEY = bytes(range(100))
LONG_KEY_PERSON_ID = "e9c27f4809e41060382f"

#: A source key of scheme ``hesid`` and its id under KEY (HMAC of "hesid:0A1B2C3D4E").
SOURCE_KEY, SOURCE_SCHEME = "0A1B2C3D4E", "hesid"
SOURCE_PERSON_ID = "74315a69ec835fe1e970"


def key_in_file(path: Path) -> bytes:
    """The key a key file holds (one line of hex), read without joinedup."""
    return bytes.fromhex(Path(path).read_text().strip())


def expected_person_id(nhs_number: str, key: bytes) -> str:
    """HMAC-SHA256 of the NHS number's ten digits under ``key``, first 20 hex characters."""
    digits = "".join(ch for ch in str(nhs_number) if ch.isdigit())
    assert len(digits) == 10, f"not an NHS number: {nhs_number!r}"
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()[:ID_HEX_CHARS]


def expected_source_person_id(value: str, scheme: str, key: bytes) -> str:
    """HMAC-SHA256 of ``scheme:value`` (value trimmed) under ``key``, first 20 hex."""
    text = f"{scheme}:{value.strip()}"
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:ID_HEX_CHARS]
