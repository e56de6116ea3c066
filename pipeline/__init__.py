"""Loa: Markdown posts in git -> e-portal and social channels, exactly once, with a ledger and reports.

Data flow (one direction; see docs/architecture.md):
config.py -> content.py -> checks.py -> render.py -> plan.py -> publish.py -> ledger/ -> report/
"""

__version__ = "0.1.0"
