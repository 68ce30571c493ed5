"""lock-build: lock runtime *and* build dependencies, then sync binary-consistent environments."""

__version__ = "0.1.0"
