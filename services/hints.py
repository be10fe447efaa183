"""Coaching hints: deterministic rules that never block anything (principles 2, 4, 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.models import User


@dataclass(frozen=True)
class Hint:
    code: str
    message: str


_PAST_TENSE_INTRO = re.compile(
    r"^\W*(i\s+was\b|i'm\s+unemployed|i\s+am\s+unemployed|unemployed\b|"
    r"laid\s+off\b|i\s+was\s+laid\s+off|recently\s+laid\s+off)",
    re.IGNORECASE,
)


def profile_hints(user: User) -> list[Hint]:
    hints: list[Hint] = []
    for field_name in ("headline", "title"):
        text = getattr(user, field_name) or ""
        if _PAST_TENSE_INTRO.search(text):
            hints.append(
                Hint(
                    "intro_lead_with_present",
                    f"Your {field_name} leads with the past. Lead with what you are and do now "
                    '("I am a data engineer focused on …"), not what you were.',
                )
            )
            break
    return hints
