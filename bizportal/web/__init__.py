"""The web shell around the features: security headers and error pages, template filters, the
language switch, legal pages and health endpoints."""
