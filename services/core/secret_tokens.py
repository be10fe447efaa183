"""Secret tokens handed to people (refresh tokens, mailed tokens) and what is stored of them."""

from __future__ import annotations

import hashlib
import secrets


def new_secret_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the database keeps of a secret token: its SHA-256, hex. Looked up through a unique
    index, so the database compares digests, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()
