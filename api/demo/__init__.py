"""Tooling, not product rules: the demo seeder behind `make seed-demo`."""
