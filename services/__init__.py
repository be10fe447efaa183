"""Wellspring domain logic: plain functions over a SQLAlchemy Session, no Flask."""
