"""Retention: untouched drafts and long-closed filings are deleted on schedule; counts remain."""
