"""What every part of the TLC runner shares: the pinned release, TLC's message
codes and exit statuses, and the runner's errors."""

from __future__ import annotations

import re

from ..errors import MembarrierSpecError

# ---------------------------------------------------------------------------------------------------------
# The pinned release.
#
# v1.7.4 is the latest *stable* release (TLC 2.19 of 08 August 2024, rev 5a47802).  v1.8.0 is a rolling
# pre-release whose asset is replaced in place, so it cannot be pinned by hash.  GitHub publishes no digest
# for tla2tools.jar.  The SHA-256 below was NOT computed here (this machine cannot reach github.com): it is
# the value recorded, identically, by several unrelated public projects that pin the same URL (found through
# a code search).  Whoever first runs `membarrier-spec install-tlc` with network access must confirm it:
# a mismatch is refused, never silently accepted.
# ---------------------------------------------------------------------------------------------------------
PINNED_VERSION = "1.7.4"
PINNED_URL = f"https://github.com/tlaplus/tlaplus/releases/download/v{PINNED_VERSION}/tla2tools.jar"
PINNED_SHA256 = "936a262061c914694dfd669a543be24573c45d5aa0ff20a8b96b23d01e050e88"
URL_ENV, SHA256_ENV, JAR_ENV = "MEMBARRIER_SPEC_TLC_URL", "MEMBARRIER_SPEC_TLC_SHA256", "TLA2TOOLS_JAR"

MIN_JAVA = 11
DEFAULT_PROGRESS_INTERVAL = 2  # seconds between TLC progress reports (-Dtlc2.TLC.progressInterval)

# Message codes (see the module docstring).
MSG_VERSION, MSG_MODE, MSG_INIT_START, MSG_INIT_DONE = 2262, 2187, 2189, 2190
MSG_PROGRESS, MSG_STATS, MSG_DEPTH, MSG_SUCCESS = 2200, 2199, 2194, 2193
MSG_TEMPORAL_START = 2192
MSG_INVARIANT, MSG_INVARIANT_INIT, MSG_ACTION_PROPERTY, MSG_PROPERTY_INIT = 2110, 2107, 2112, 2108
MSG_TEMPORAL, MSG_DEADLOCK = 2116, 2114
MSG_BEHAVIOR, MSG_COUNTEREXAMPLE, MSG_STATE, MSG_STATE1, MSG_STUTTER, MSG_BACK_TO = 2121, 2264, 2217, 2216, 2218, 2122
MSG_PARSE_FAILED, MSG_PARSE_FAILED2 = 3002, 2171
MSG_OOM, MSG_OOM_INIT, MSG_OOM_LIVENESS = 1001, 1002, 1003
MSG_ASSUMPTION_FALSE = 2104
MSG_SERVER_READY = 7000
CONFIG_ERROR_CODES = set(range(2222, 2244)) | {2257, 2280, 2281} | set(range(5001, 5007))
EXIT_PARSE, EXIT_CONFIG = 150, 151

OOM_TEXT = re.compile(r"OutOfMemoryError|Java heap space|GC overhead limit exceeded|ran out of memory|"
                      r"Direct buffer memory|Metaspace")


# =========================================================================================================
# Errors
# =========================================================================================================

class TlcSetupError(MembarrierSpecError):
    """No Java, no jar, a wrong jar, a failed download or a hash mismatch: fix the set-up (CLI exit 2)."""


class TlcSpecError(MembarrierSpecError):
    """TLC rejected the input: a parse, semantic or configuration error; the message quotes TLC (exit 2)."""
