"""CLI verbs, one module per group. :mod:`pipeline.cli` imports the module of the verb being run
(its ``VERB_MODULES`` table) or, for the help, :func:`register_all`."""


def register_all() -> None:
    """Import every verb module, which registers its verbs with :mod:`pipeline.cli`."""
    import importlib

    from pipeline.cli import VERB_MODULES

    for module in dict.fromkeys(VERB_MODULES.values()):
        importlib.import_module(f"pipeline.commands.{module}")
