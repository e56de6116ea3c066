"""CLI verbs, one module per group. Importing this package registers them with :mod:`pipeline.cli`."""

from pipeline.commands import authoring, check, preview  # noqa: F401

for _optional in ("publishing", "reporting", "ingesting"):
    try:
        __import__(f"pipeline.commands.{_optional}")
    except ImportError as _exc:  # a verb group still being built must not break the others
        if _exc.name and not _exc.name.startswith("pipeline.commands"):
            raise
