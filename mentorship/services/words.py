"""The one plural rule: "1 proposal", "2 proposals", "1 library", "3 libraries"."""

from __future__ import annotations

IRREGULAR = {"library": "libraries", "person": "people", "is": "are", "was": "were"}


def plural_form(singular: str) -> str:
    """The plural of one word or of the last word of a phrase ("step of the plan" aside)."""
    head, _, last = singular.rpartition(" ")
    if last in IRREGULAR:
        word = IRREGULAR[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        word = last + "es"
    elif last.endswith("y") and last[-2:-1] not in ("a", "e", "o", "u"):
        word = last[:-1] + "ies"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def plural(count: int, singular: str, many: str | None = None) -> str:
    """`count` and the noun that agrees with it: plural(1, "day") == "1 day"."""
    noun = singular if count == 1 else (many or plural_form(singular))
    return f"{count:,} {noun}"
