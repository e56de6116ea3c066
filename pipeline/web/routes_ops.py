"""The IT officer's operations page (being built)."""

from __future__ import annotations

from starlette.routing import Route

from pipeline.web import auth
from pipeline.web.views import render


@auth.requires("it")
def ops(request):
    return render(request, "home.html", {})


routes = [Route("/ops", ops, methods=["GET"])]
