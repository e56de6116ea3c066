"""The editorial board's approval queue (being built: see routes_ops for the shape)."""

from __future__ import annotations

from starlette.routing import Route

from pipeline.web import auth
from pipeline.web.views import render


@auth.requires("board")
def approvals(request):
    return render(request, "home.html", {})


routes = [Route("/approvals", approvals, methods=["GET"])]
