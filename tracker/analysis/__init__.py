"""Offline analysis of finished runs for sports footage: choose tracks, fill and filter them, measure angles."""
