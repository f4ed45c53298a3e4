"""Reference receivers: what the chambers run on the other side of each adapter."""
