"""The web console (issue 18): Loa in a browser, for people who do not live in a terminal.

A front end like :mod:`pipeline.cli`: it parses a request, calls the application layer
(:class:`pipeline.app.Session`) and renders the answer with the templates in ``templates/web/``.
:func:`pipeline.web.app.create_app` builds the Starlette application; ``loa serve`` runs it with
uvicorn. docs/architecture.md says why Starlette and server-rendered pages; docs/security.md and
docs/deploying.md say how it is protected and deployed.
"""
