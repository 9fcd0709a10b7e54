"""Findings: the record, and its delivery as a warning, a raised error or to the sinks."""
