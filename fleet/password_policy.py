"""How strong passwords and the signing key must be, judged by zxcvbn's guess estimate.

zxcvbn finds dictionary words, names, keyboard walks, repeats, sequences and dates, and
estimates how many guesses an attacker needs; the rules below are floors on that estimate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from zxcvbn import zxcvbn

#: Least zxcvbn score (0-4) of a password of a user who is not an administrator.
MIN_SCORE = 3
#: Least zxcvbn score of an administrator's password (score 4: about 10^10 guesses or more).
MIN_ADMIN_SCORE = 4
#: Least length of an administrator's password, characters.
MIN_ADMIN_LENGTH = 12
#: Least estimated guesses of the secret key that signs tokens, as bits (log2 of guesses).
MIN_SECRET_KEY_BITS = 80
#: zxcvbn's matching grows with the length; a longer password is judged by its first part.
ZXCVBN_MAX_LENGTH = 72


def password_problem(password: str, *, admin: bool, user_inputs: Iterable[str] = ()) -> str | None:
    """Why ``password`` is too weak, or None when it is acceptable.

    ``admin`` asks for the stricter rule; ``user_inputs`` (username, full name) count as
    words an attacker knows."""
    if admin and len(password) < MIN_ADMIN_LENGTH:
        return f"an administrator's password needs at least {MIN_ADMIN_LENGTH} characters"
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=[value for value in user_inputs if value])
    needed = MIN_ADMIN_SCORE if admin else MIN_SCORE
    if result["score"] >= needed:
        return None
    feedback = result["feedback"]
    hints = " ".join(filter(None, [feedback.get("warning"), *feedback.get("suggestions", [])]))
    who = "an administrator's password" if admin else "a password"
    return f"too easy to guess: {who} needs strength {needed} of 4, this one has {result['score']}" + (
        f" ({hints})" if hints else ""
    )


def secret_key_bits(key: str) -> float:
    """Estimated strength of ``key`` in bits: log2 of the guesses zxcvbn expects."""
    return float(zxcvbn(key[:ZXCVBN_MAX_LENGTH])["guesses_log10"]) * math.log2(10)
