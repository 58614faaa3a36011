"""Dropline infrastructure shared by every service: settings, database and unit of work,
outbox relay, idempotent consumers, jobs, telemetry. No business rules live here."""
