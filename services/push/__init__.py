"""Push notifications: devices, notification settings, the notification outbox and its delivery.

Owns: the web push endpoint allowlist (allowlist), the APNs / FCM / Web Push senders and their
configuration (providers). May import services.core and, through their exported functions,
other domains.
"""
