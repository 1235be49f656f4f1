"""The ``membarrier-spec`` command line: :mod:`.app` wires the subcommands, one module each."""

from .app import main

__all__ = ["main"]
