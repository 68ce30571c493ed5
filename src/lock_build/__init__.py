"""lock-build: lock runtime *and* build dependencies, then sync binary-consistent environments."""

__all__ = ["__version__"]

__version__ = "0.1.0"
