"""The concurrency model: state, weak memory, the scheduler's and membarrier's steps, the programs, the properties.

:class:`Model` (in :mod:`.interface`) is what every checker consumes: initial states, the enabled steps of a
state with the states they lead to, and the named properties with their kind.  A preset (:mod:`.presets`) is a
named :class:`~.config.Config`.
"""

from .interface import Model

__all__ = ["Model"]
