"""Loa: Markdown posts in git -> e-portal and social channels, exactly once, with a ledger and reports.

Data flow (one direction): config.py -> content.py -> checks.py -> render.py -> plan.py -> publish.py
-> ledger/ -> report/. The application layer, app.py, wires these stages for every front end
(cli.py and commands/, schedule.py); docs/architecture.md draws the layers.
"""

__version__ = "0.1.0"
