"""Telemetry: OpenTelemetry spans, span events and metrics; ``_control`` switches it on and off."""
