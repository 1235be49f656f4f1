"""``membarrier-spec replay``: a counterexample, TLC's or the explorer's, replayed step by step in the Python model."""

from __future__ import annotations

from ..check.replay import TraceError, load, replay_trace
from ..model.interface import Model
from ..model.presets import preset


def register(sub) -> None:
    p = sub.add_parser("replay", help="replay a counterexample (TLC's or the explorer's) in the Python model")
    p.add_argument("trace", help="a JSON file written by `check --json` or `explore --json`, or a saved TLC "
                                 "log (plain or -tool output) of a generated MC_<preset> module")
    p.add_argument("--property", help="only this property's counterexample")
    p.add_argument("--preset", help="the preset a TLC log checked (default: the MC_<preset> module it names)")
    p.set_defaults(func=cmd_replay)


def cmd_replay(args) -> int:
    data = load(args.trace, args.preset)
    p = preset(data["preset"])
    engine = data.get("engine", "explorer")
    traces = data["counterexamples"]
    if args.property:
        if args.property not in traces:
            raise TraceError(f"{args.trace} has no counterexample for {args.property!r}; it has: "
                             f"{', '.join(traces) or 'none'}")
        traces = {args.property: traces[args.property]}
    if not traces:
        print(f"{p.name}: the trace file holds no counterexample")
        return 0
    model = Model(p.config)
    bad = 0
    for prop, trace in traces.items():
        done = replay_trace(model, prop, trace, engine)
        stutters, loop = trace[-1].get("action") == "Stuttering", trace[-1].get("back_to")
        if done.divergence:
            bad += 1
            print(f"{prop}: diverges at {done.divergence}")
        elif stutters or loop is not None:  # a lasso: it breaks a property of the behaviour, not of a state
            end = (f"then stutters forever in state {len(trace) - 1}" if stutters
                   else f"including the loop back to state {loop + 1}")
            print(f"{prop}: all {len(trace) - 1} steps of the {engine} counterexample replay in the Python model, "
                  f"{end}")
        elif not done.violated_at_end:
            bad += 1
            print(f"{prop}: all {len(trace) - 1} steps replay, but the last state does not break {prop}")
        else:
            print(f"{prop}: all {len(trace) - 1} steps of the {engine} counterexample replay in the Python model; "
                  f"the last state breaks {prop}")
    return 1 if bad else 0
