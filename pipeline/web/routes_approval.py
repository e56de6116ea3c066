"""The editorial board's approval queue: approve a post, or send it back with a comment.

Both call the application layer as ``loa approve`` does (:meth:`pipeline.app.Session.approve`,
:meth:`~pipeline.app.Session.send_back`), with the signed-in person's name as it is written on the
board (``editorial.board``; the account's full name). The form carries the content version the
member read: a post changed since is refused, not approved unread. A post's author is its front
matter ``author`` (what ``loa check`` and ``loa approve`` compare), so no one approves their own
post; a changed post comes back to the queue because its approval hash no longer matches.
"""

from __future__ import annotations

from starlette.routing import Route

from pipeline.web import auth
from pipeline.web.views import lang_of, loa_session, render


def _queue(request, notice: str | None = None, error: str | None = None, status: int = 200):
    from pipeline import approval

    s, user, lang = loa_session(request), auth.current_user(request), lang_of(request)
    content = s.content()
    waiting = s.approval_queue()
    returned = s.sent_back(content.posts)
    tz = s.cfg.tz
    rows = [{"id": w.post.id, "title": w.post.title, "path": w.post.relpath, "author": w.post.author or "",
             "channels": ", ".join(w.channels), "describe": w.describe(lang), "version": approval.current_hash(w.post),
             "at": f"{w.post.publish_at.astimezone(tz):%d/%m/%Y %H:%M}" if w.post.publish_at else "",
             "own": approval.same_person(user.full_name, w.post.author),
             "returned": _returned(returned.get(w.post.id), tz)} for w in waiting]
    return render(request, "approvals.html", {
        "waiting": [r for r in rows if not r["returned"]], "returned": [r for r in rows if r["returned"]],
        "notice": notice, "error": error}, status=status)


def _returned(event, tz) -> dict | None:
    if event is None:
        return None
    return {"by": event.actor, "at": f"{event.at.astimezone(tz):%d/%m/%Y %H:%M}",
            "comment": str(event.detail.get("comment") or "")}


@auth.requires("board")
def approvals(request):
    return _queue(request)


def _waiting_post(request, post_id: str):
    s = loa_session(request)
    return next((w.post for w in s.approval_queue() if w.post.id == post_id), None)


@auth.requires("board")
def approve(request):
    from pipeline.messages import text

    data, user, lang = auth.form(request), auth.current_user(request), lang_of(request)
    post = _waiting_post(request, str(data.get("post") or ""))
    if post is None:
        return _queue(request, error=text("web.approvals.gone", lang), status=409)
    done, answer = loa_session(request).approve(post.path, user.full_name, account=user.name,
                                                expected=str(data.get("version") or ""))
    if done is None or not isinstance(answer, dict):
        message = answer.message(lang) if hasattr(answer, "message") else text("web.approvals.gone", lang)
        return _queue(request, error=message, status=409 if getattr(answer, "exit_code", 1) == 1 else 403)
    return _queue(request, notice=text("web.approvals.done", lang, title=post.title))


@auth.requires("board")
def send_back(request):
    from pipeline.messages import text

    data, user, lang = auth.form(request), auth.current_user(request), lang_of(request)
    post = _waiting_post(request, str(data.get("post") or ""))
    if post is None:
        return _queue(request, error=text("web.approvals.gone", lang), status=409)
    comment = " ".join(str(data.get("comment") or "").split())[:2000]
    if not comment:
        return _queue(request, error=text("web.approvals.comment-needed", lang), status=400)
    done, answer = loa_session(request).send_back(post.path, user.full_name, comment, account=user.name)
    if done is None or hasattr(answer, "message"):
        return _queue(request, error=answer.message(lang) if hasattr(answer, "message") else
                      text("web.approvals.gone", lang), status=403)
    return _queue(request, notice=text("web.approvals.sent-back", lang, title=post.title))


routes = [
    Route("/approvals", approvals, methods=["GET"]),
    Route("/approvals/approve", approve, methods=["POST"]),
    Route("/approvals/send-back", send_back, methods=["POST"]),
]
