"""A post's page: each channel's exact rendering and state, its history on every channel (the
ledger's events), its approval and what changed since, its check problems
(:meth:`pipeline.app.Session.post_page`)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from pipeline.messages import localized
from pipeline.status import error_words, reason_text
from pipeline.web.auth import requires
from pipeline.web.routes_calendar import READERS
from pipeline.web.views import lang_of, loa_session, render


#: The image kinds a post may carry (:func:`pipeline.images.looks_like_image`), by their first bytes.
_IMAGE_TYPES = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
                (b"RIFF", "image/webp"))


def image_src(post, max_bytes: int) -> str | None:
    """The post's image as a ``data:`` address, for the renderings' frames: a relative ``src``
    would be read against the console's address, and a sandboxed frame (an opaque origin) does
    not send the session cookie an image route would need. The path is the one the content
    reader checked (inside the content, an image by its bytes, not SVG); ``None`` without one."""
    import base64

    path = post.image_path if post else None
    try:
        if path is None or path.stat().st_size > max_bytes:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    kind = next((t for magic, t in _IMAGE_TYPES if data.startswith(magic)), None)
    return f"data:{kind};base64,{base64.b64encode(data).decode('ascii')}" if kind else None


@requires(*READERS)
def post_page(request) -> Response:
    session = loa_session(request)
    cfg = session.cfg
    page = session.post_page(request.path_params["post_id"])
    if page is None:
        return render(request, "notfound.html", {}, status=404)
    lang = lang_of(request)
    return render(request, "post.html", {
        "p": page, "tz": cfg.tz, "channels": cfg.channels,
        "unit_name": cfg.units[page.post.unit].name if page.post and page.post.unit in cfg.units else None,
        "type_label": cfg.types[page.post.type].label if page.post and page.post.type in cfg.types else None,
        "problems": [x.format(lang) for x in page.problems],
        "image_src": image_src(page.post, cfg.max_image_bytes),
        "render_errors": [f"{e.channel}: {localized(e.reason, lang)}" for e in page.render_errors],
        "why": lambda reason: reason_text(reason, lang) if reason else "",
        "error_words": lambda last_error: error_words(last_error, lang),
    })


routes = [
    Route("/posts/{post_id}", post_page, methods=["GET"]),
]
