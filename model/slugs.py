"""Slugs made from names: "Card customer lifecycle" -> "card-customer-lifecycle"."""

from __future__ import annotations

import re
import unicodedata


def slugify(text: str, *, max_length: int = 100) -> str:
    """Return a lowercase, dash-separated ASCII slug of ``text``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        slug = slug[:max_length].rsplit("-", 1)[0] or slug[:max_length]
    return slug.strip("-")


def unique_slug(base: str, taken: set[str], *, max_length: int = 100) -> str:
    """Return ``base``, or ``base-2``, ``base-3``... whichever is not in ``taken``."""
    if base not in taken:
        return base
    number = 2
    while True:
        suffix = f"-{number}"
        candidate = base[: max_length - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        number += 1
