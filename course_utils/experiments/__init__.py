"""The experiments behind the claim checks, one module per topic (no plotting here).

Each function runs a sweep over widths, seeds or learning rates with the core
(``cu.MLP``, ``cu.train``, ``cu.empirical_ntk``, ``cu.analytic_ntk``, ``cu.GradientFlow``),
returns a ``NamedTuple`` of plain numpy arrays and is cached per argument, so a figure and
the claim check that reads the same numbers never train twice. Every notebook runs one case
of each sweep in plain view first and shows that it matches.
"""
