"""Chamber adapters: the edge between the portal and the bodies that receive filings.

This package never imports ``bizportal``; adapters get plain data and validated options.
"""
