"""The checkers that consume :class:`~membarrier_spec.model.Model`: the breadth-first explorer, the projected
state graphs, the Hypothesis state machine, the replay of counterexamples, the result store, the verdict table,
TLC on the presets, and the switch-cost count."""
