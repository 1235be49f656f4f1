"""The ``membarrier-spec`` command line.

Every subcommand lives in the module that does its job; this file only wires
arguments to them.  Bad input is one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..errors import MembarrierSpecError, Terminated
from .options import (EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_IO_ERROR, EXIT_TERMINATED, Parser, positive_int,
                      signals_unwind)


def _cmd_presets(args: argparse.Namespace) -> int:
    from ..model.presets import PRESETS
    if args.json:
        out = {name: {"source": p.source, "question": p.question, "expected": p.expected,
                      "config": _config_dict(p.config)} for name, p in PRESETS.items()}
        print(json.dumps(out, indent=2, sort_keys=True))
        return 0
    width = max(len(n) for n in PRESETS)
    for name, p in PRESETS.items():
        print(f"{name:<{width}}  {p.source}")
    return 0


def _config_dict(config) -> dict:
    import attrs
    return attrs.asdict(config)


def _cmd_conformance(args: argparse.Namespace) -> int:
    from ..syscall.conformance import run_cli
    return run_cli(sequences=args.sequences, seed=args.seed, steps=args.steps)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="membarrier-spec",
                     description="A model-checked specification of Linux membarrier(2).")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("presets", help="list the named presets (kernel variants) and where they come from")
    p.add_argument("--json", action="store_true", help="print presets, configs and expected verdicts as JSON")
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser("conformance",
                       help="compare the model with the live kernel's membarrier(2) on random call sequences")
    p.add_argument("--sequences", type=positive_int, default=100, help="how many random sequences (default 100)")
    p.add_argument("--steps", type=positive_int, default=12, help="operations per sequence (default 12)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=_cmd_conformance)

    import importlib
    for module in SUBCOMMAND_MODULES:
        importlib.import_module(f"membarrier_spec.cli.{module}").register(sub)
    return parser


# Modules that add subcommands: each has register(subparsers), and its handlers return an exit status.
SUBCOMMAND_MODULES: list[str] = ["explore", "generate", "pictures", "tlc", "replay", "switch_cost", "probe"]



def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 terminal gets escapes, not a traceback
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with signals_unwind():
            status = args.func(args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:  # output piped into head(1) and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # standard output or a file could not be written (a full disk, /dev/full, ...)
        where = exc.filename or "standard output"
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except OSError:
            pass
        print(f"membarrier-spec: error: {where}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_IO_ERROR
    except MembarrierSpecError as exc:
        print(f"membarrier-spec: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("membarrier-spec: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated:  # SIGTERM or SIGHUP: every `finally` has run, so children are stopped, temporaries gone
        print("membarrier-spec: terminated; child processes were stopped and temporary files removed",
              file=sys.stderr)
        return EXIT_TERMINATED
