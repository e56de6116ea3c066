"""The IT officer's operations page: held channels, pauses, failed and in-doubt items with the
vendor's words, and the CLI's actions on them (``loa retry``, ``loa resolve``, ``loa pause``,
``loa resume``) through the same :class:`pipeline.app.Session` methods, recorded with the
signed-in person's account name. Channel health and token expiry (``loa channels check``) asks
each vendor, so it is a page of its own (``/ops/channels``), opened on purpose."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.routing import Route

from pipeline.messages import localized
from pipeline.status import reason_text
from pipeline.web import auth
from pipeline.web.views import lang_of, loa_session, render


def _page(request, notice: str | None = None, error: str | None = None, status: int = 200):
    s, lang = loa_session(request), lang_of(request)
    st = s.status(lang=lang)
    health = s.health(brief=True)  # whether loa run is alive: its last tick, not every row counted
    tz = s.cfg.tz
    return render(request, "ops.html", {
        "status": st, "notice": notice, "error": error, "channels": list(s.cfg.channels),
        "last_tick": f"{health.last_tick.astimezone(tz):%d/%m/%Y %H:%M:%S}" if health.last_tick else None,
        "daemon_ok": health.ok, "local": lambda iso: _local(iso, tz),
        # an item's reason and what to do in the reader's language (the stored English is for logs)
        "why": lambda reason: reason_text(reason, lang) if reason else "",
        "said": lambda words: localized(words, lang) if words else ""}, status=status)


def _local(iso: str | None, tz) -> str:
    from datetime import datetime

    if not iso:
        return ""
    try:
        return f"{datetime.fromisoformat(iso).astimezone(tz):%d/%m/%Y %H:%M}"
    except ValueError:
        return iso


@auth.requires("it")
def ops(request):
    return _page(request)


def _field(data, name: str) -> str | None:
    value = " ".join(str(data.get(name) or "").split())
    return value or None


def _act(request, action) -> object:
    """Run ``action(session, actor)``; a refusal of the application layer (``LoaError``) is shown."""
    from pipeline import secrets
    from pipeline.errors import LoaError
    from pipeline.messages import said

    user = auth.current_user(request)
    try:
        return action(loa_session(request), user.name)
    except LoaError as exc:
        return _page(request, error=secrets.redact(said(exc, lang_of(request))), status=409)


@auth.requires("it")
def retry(request):
    from pipeline.messages import text

    data, lang = auth.form(request), lang_of(request)
    post, channel = _field(data, "post"), _field(data, "channel")
    answer = _act(request, lambda s, actor: s.retry(post, channel, actor=actor))
    if not isinstance(answer, tuple):
        return answer
    n, lifted = answer
    lines = [text("retry.lifted", lang, channel=name) for name in lifted] + [text("retry.count", lang, count=n)]
    return _page(request, notice=" ".join(lines))


@auth.requires("it")
def resolve(request):
    from pipeline.messages import text

    data, lang = auth.form(request), lang_of(request)
    post, channel = _field(data, "post"), _field(data, "channel")
    url = _field(data, "published_url") if data.get("outcome") == "published" else None
    if data.get("outcome") == "published" and not _web_address(url):
        return _page(request, error=text("web.ops.bad-url", lang), status=400)
    if not post or not channel:
        return _page(request, error=text("web.ops.missing", lang), status=400)
    answer = _act(request, lambda s, actor: s.resolve(post, channel, published_url=url,
                                                      remote_id=_field(data, "remote_id"), actor=actor))
    if not hasattr(answer, "state"):
        return answer
    return _page(request, notice=text("resolve.done", lang, post=post, channel=channel,
                                      state=text(f"state.{answer.state}", lang)))


def _web_address(url: str | None) -> bool:
    """Only an http(s) address is stored as where a post was published (it becomes a link)."""
    if not url:
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@auth.requires("it")
def pause(request):
    from pipeline.messages import text

    data, lang = auth.form(request), lang_of(request)
    channel, reason = _field(data, "channel"), _field(data, "reason")
    if not reason:
        return _page(request, error=text("web.ops.reason-needed", lang), status=400)
    answer = _act(request, lambda s, actor: s.pause(channel, reason=reason[:500], actor=actor) or True)
    if answer is not True:
        return answer
    return _page(request, notice=text("pause.done", lang, channel=channel or text("cli.all-channels", lang),
                                      reason=reason))


@auth.requires("it")
def resume(request):
    from pipeline.messages import text

    data, lang = auth.form(request), lang_of(request)
    channel = _field(data, "channel")
    answer = _act(request, lambda s, actor: s.resume(channel, actor=actor))
    if not isinstance(answer, int):
        return answer
    return _page(request, notice=text("resume.done", lang, channel=channel or text("cli.all-channels", lang),
                                      count=answer))


@auth.requires("it")
def channels(request):
    from pipeline import secrets
    from pipeline.errors import LoaError
    from pipeline.messages import localized, said

    s, lang, tz = loa_session(request), lang_of(request), loa_session(request).cfg.tz
    try:
        reports, error = s.check_channels(), None
    except LoaError as exc:
        reports, error = [], secrets.redact(said(exc, lang_of(request)))
    rows = []
    for r in reports:
        h = r.health
        rows.append({"name": r.name, "type": r.type, "enabled": h is not None, "ok": bool(h and h.ok),
                     "identity": h.identity if h else None,
                     "expires": f"{h.expires_at.astimezone(tz):%d/%m/%Y %H:%M}" if h and h.expires_at else None,
                     "messages": [secrets.redact(localized(m, lang)) for m in (h.messages if h else ())],
                     "late": len(r.late), "first_late": f"{r.late[0].astimezone(tz):%d/%m/%Y %H:%M}" if r.late else None})
    return render(request, "ops_channels.html", {"rows": rows, "error": error})


routes = [
    Route("/ops", ops, methods=["GET"]),
    Route("/ops/channels", channels, methods=["GET"]),
    Route("/ops/retry", retry, methods=["POST"]),
    Route("/ops/resolve", resolve, methods=["POST"]),
    Route("/ops/pause", pause, methods=["POST"]),
    Route("/ops/resume", resume, methods=["POST"]),
]
