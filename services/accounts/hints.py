"""Coaching hints: deterministic rules that never block anything (principles 2, 4, 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.core.models import User


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


# Messages -----------------------------------------------------------------------------------

# "Are you hiring?" and its cousins: asking a stranger for a job before any relationship.
_HIRING_ASK = re.compile(
    r"\b(are|is)\s+(you|your\s+(team|company|group|org|organi[sz]ation))\s+"
    r"(currently\s+|still\s+|by\s+any\s+chance\s+)?hiring\b"
    r"|\b(any|some)\s+(job\s+)?(openings|vacancies)\b"
    r"|\bdo\s+you\s+have\s+(any\s+)?(open\s+)?(positions|roles|jobs|openings)\b"
    r"|\bcan\s+you\s+(get|find)\s+me\s+a\s+job\b",
    re.IGNORECASE,
)

# An intro that leads with the job loss. Narrower than the profile rule: in a message,
# "I was at your talk" or "I was wondering" are fine, "I was a data engineer at …" is not.
_JOB_LOSS_LEAD = re.compile(
    r"^\W*(laid\s+off\b|unemployed\b|jobless\b|out\s+of\s+work\b"
    r"|i\s+was\s+(recently\s+|just\s+)?(laid\s+off|let\s+go|made\s+redundant|fired|a|an)\b"
    r"|i(\s+am|['\u2019]m)\s+(currently\s+|now\s+)?(unemployed|out\s+of\s+work|jobless)\b"
    r"|i\s+(just\s+|recently\s+)?lost\s+my\s+job\b|i\s+used\s+to\s+be\b)",
    re.IGNORECASE,
)

# This many asks in a row to one contact, with no offer in between, earns a hint.
ASK_RUN = 3


def message_hints(*, body: str, kind: str, cold: bool, asks_in_a_row: int) -> list[Hint]:
    """Coaching for a message just sent (principles 2, 4, 5); `asks_in_a_row` includes it."""
    hints: list[Hint] = []
    if cold and _HIRING_ASK.search(body):
        hints.append(
            Hint(
                "cold_hiring_ask",
                "Not everyone is hiring, and this person has not written to you yet. Start "
                "with what you can offer or what you enjoyed in your conversation; ask about "
                "roles once there is a relationship.",
            )
        )
    if _JOB_LOSS_LEAD.search(body):
        hints.append(
            Hint(
                "intro_lead_with_present",
                "This message leads with the past. Lead with what you are and do now "
                '("I am a data engineer focused on …"), not what you were.',
            )
        )
    if kind == "ask" and asks_in_a_row >= ASK_RUN:
        hints.append(
            Hint(
                "asks_without_offers",
                f"That is {asks_in_a_row} asks in a row to this contact with no offer in "
                "between. Offer something (an intro, an article, your help) before the next ask.",
            )
        )
    return hints
