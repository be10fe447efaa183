"""What every domain uses: the engine and sessions (`db`, with the lock order and the retry of
transient conflicts), the models on one metadata (`models`), domain errors (`errors`), the
injectable clock, keyset pagination, time zones, dialect-portable SQL (`sqlfunctions`),
Idempotency-Key records, answer formatting and the Alembic runner.

It imports no domain package: anything here must make sense without knowing about events,
contacts or messages as rules, only as tables.
"""
