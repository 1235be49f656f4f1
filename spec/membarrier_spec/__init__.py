"""membarrier-spec: a model-checked specification of Linux membarrier(2)."""

from .abi import FLAG_CPU, Cmd, State
from .model.config import Config
from .errors import ConfigError, MembarrierSpecError, TaskError
from .model.presets import PRESETS, preset
from .syscall.system import System

__all__ = ["System", "Config", "Cmd", "State", "FLAG_CPU", "PRESETS", "preset", "MembarrierSpecError",
           "ConfigError", "TaskError"]
__version__ = "0.1.0"
