"""The ``py3r-script`` command line: argument parsing, sweep files, typed text values, tables."""

from .main import main as main

__all__ = ["main"]
