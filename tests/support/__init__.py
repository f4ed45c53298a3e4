"""Test support in one place: HTTP and login helpers, factories, test adapters, reference
receivers. Fixtures stay in the conftest modules and use these."""
