"""The deployment's throttling policy: PRODUCT.md's defaults, then `THROTTLE_*` environment
variables, then the app's config (tests); built once per app, at startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import current_app

from services.messaging.throttle import SETTINGS, ThrottlePolicy

EXTENSION = "wellspring.throttle_policy"


def build_throttle_policy(config: Mapping[str, Any]) -> ThrottlePolicy:
    names = [name for name, _unit in SETTINGS.values()]
    settings = {name: os.environ[name] for name in names if name in os.environ}
    settings.update({name: config[name] for name in names if name in config})
    return ThrottlePolicy.from_settings(settings)


def throttle_policy() -> ThrottlePolicy:
    return current_app.extensions[EXTENSION]
