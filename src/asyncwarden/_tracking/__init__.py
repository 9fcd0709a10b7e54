"""Tracking: what the patches record (batches, task provenance, frame lineage, call sites)."""
