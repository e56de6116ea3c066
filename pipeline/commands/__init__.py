"""CLI verbs, one module per group; each registers its verbs with :func:`pipeline.commands.base.verb`.

:data:`MODULES` lists them in the order ``loa --help`` shows their verbs.
"""

MODULES = ("authoring", "check", "preview", "publishing", "reporting", "ingesting", "operating", "console")
