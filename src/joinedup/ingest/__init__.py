"""Ingest: validate partner extracts, pseudonymise at the door, load all-or-nothing."""
