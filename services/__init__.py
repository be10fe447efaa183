"""Wellspring's product rules: plain functions over a SQLAlchemy Session, no Flask.

One package per domain (accounts, events, checkin, networking, messaging, stats) on top of
`services.core`, which every domain uses and which uses none of them. A domain reaches another
only through the modules and names listed in that domain's `EXPORTS` (its `__init__`);
tests/core/test_layout.py enforces the arrows.
"""
