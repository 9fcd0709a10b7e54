"""Sinks: where findings and telemetry go besides the warning (structlog, OpenTelemetry)."""
