#!/usr/bin/env bash
# The main job: set up, then run every step of the specification pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh

# List the presets (kernel variants) the later steps work on.
membarrier-spec presets

# Step: generate specs (TLA+ modules into tla/) -- added later.

# Step: check default presets (explorer and TLC verdicts) -- added later.

# Step: render diagrams (into diagrams/; needs graphviz: bootstrap_require dot graphviz "render diagrams") -- added later.
