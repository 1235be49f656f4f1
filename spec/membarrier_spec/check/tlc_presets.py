"""TLC on the presets: a preset's generated ``MC_<preset>`` module checked, one verdict per property.

:mod:`membarrier_spec.tlc` runs TLC on any spec and knows nothing of presets; this module is the glue
between it, the generator's file names (:mod:`membarrier_spec.tlaplus.generator`) and a preset's checked properties.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import attrs

from ..errors import MembarrierSpecError
from ..model.presets import preset
from ..model.properties import HOLDS, NOT_CHECKED, PROPERTIES, VIOLATED, Kind
from ..tlaplus.names import module_name
from ..tlc import TlcResult, assumed_names, cfg_names, check_spec, find_jar, module_dependencies
from .results import result_key as key_of


def default_tla_dir() -> Path:
    """``<repository>/tla`` for a source checkout (editable install), else ``./tla``."""
    repo = Path(__file__).resolve().parents[3] / "tla"
    return repo if repo.is_dir() else Path.cwd() / "tla"


def preset_files(preset_name: str, tla_dir: Path | None = None) -> tuple[Path, Path]:
    preset(preset_name)  # an unknown name is a ConfigError listing the known ones
    tla_dir = Path(tla_dir) if tla_dir else default_tla_dir()
    module = module_name(preset_name)  # MC_<ident>: "-" becomes "_"
    spec, cfg = tla_dir / f"{module}.tla", tla_dir / f"{module}.cfg"
    for f in (spec, cfg):
        if not f.is_file():
            raise MembarrierSpecError(f"{f} does not exist: generate the TLA+ modules first "
                                      f"(`membarrier-spec generate {preset_name}`)")
    return spec, cfg


def check_preset(preset_name: str, *, tla_dir: Path | None = None, **kw) -> TlcResult:
    """Check a preset's generated ``MC_<preset>`` module; verdicts for every property, like the explorer.

    Only the properties the preset checks (``Preset.checked``) that its cfg lists are given to TLC; the
    others are ``not-checked``.  ``StableEinval`` is a property of the syscall rules, not of states, and the
    generated Membarrier.tla checks it as ``ASSUME StableEinval``: it holds when TLC gets past the assumptions
    and is violated when TLC reports that assumption false.  A spec that neither lists nor ASSUMEs it (a
    hand-written one) has it evaluated in Python exactly as the explorer does, and a note says so.
    """
    p = preset(preset_name)
    spec, cfg = preset_files(preset_name, tla_dir)
    text = cfg.read_text(errors="replace")
    wanted = set(p.checked)
    invs = [n for n in cfg_names(text, "INVARIANT") if n in wanted]
    props = [n for n in cfg_names(text, "PROPERTY") if n in wanted]
    r = check_spec(spec, cfg, invariants=invs, properties=props, name=preset_name, **kw)
    verdicts = {q.name: r.properties.get(q.name, NOT_CHECKED) for q in PROPERTIES}
    notes = list(r.notes)
    static = [q for q in PROPERTIES if q.kind is Kind.STATIC and q.name in wanted and q.name not in r.properties]
    assumptions = assumed_names(module_dependencies(spec)) if static else set()
    for q in static:  # a fact of the Config: TLC checks it as an ASSUME, if the spec has one
        assumed = q.name in assumptions
        if assumed and r.assumptions_held:
            verdicts[q.name] = HOLDS  # TLC evaluated the ASSUME and went on
        elif assumed:
            verdicts[q.name] = NOT_CHECKED
        else:
            verdicts[q.name] = HOLDS if q.decide(p.config) else VIOLATED
            notes.append(f"{q.name} evaluated statically in Python (a property of the syscall rules; the spec "
                         f"neither lists nor ASSUMEs it)")
    missing = sorted(n for n in wanted if n not in r.properties and n not in {q.name for q in static})
    if missing:
        notes.append(f"not in {cfg.name}, so not checked by TLC: {', '.join(missing)}")
    for extra, v in r.properties.items():  # e.g. Deadlock
        if extra not in verdicts:
            verdicts[extra] = v
    return attrs.evolve(r, properties=verdicts, scenarios=tuple(p.config.scenarios), notes=tuple(notes))


def result_key(preset_name: str, tla_dir: Path | None = None, jar: str | None = None) -> str:
    """What decides TLC's answer on a preset: the preset (Config, checked properties), the model's source, the
    generated spec files TLC reads, and the jar (by content)."""
    p = preset(preset_name)
    spec, cfg = preset_files(preset_name, tla_dir)
    h = hashlib.sha256()
    for f in (*module_dependencies(spec), cfg, Path(find_jar(jar))):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return key_of(preset_name, p.config, p.checked, engine="tlc", engine_version=h.hexdigest())
