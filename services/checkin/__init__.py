"""Getting people through the door: door and session check-ins by badge scan, undo and the scan
log (`checkins`), a phone's queued offline scans applied in one batch (`sync`), and the check-in
log as CSV (`check_in_export`).

May import `services.core`, `services.events` (staff rights, badges) and
`services.networking.contacts` (an offline batch also carries contact scans).
"""

EXPORTS: dict[str, tuple[str, ...]] = {
    "checkins": (
        "BadgeScan",
        "MAX_CLOCK_SKEW",
        "ScanResult",
        "commit_or_replay",
        "replay_receipt",
        "store_receipt",
    ),
}
