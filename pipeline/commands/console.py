"""``loa users`` (the web console's accounts) and ``loa serve`` (the web console itself)."""

from __future__ import annotations

import sys

from pipeline.commands.base import lang_of, load, session, verb


def _password(args, lang: str) -> str:
    """The new password: one line of standard input with ``--password-stdin``, else typed twice."""
    import getpass

    from pipeline.errors import UsageError
    from pipeline.messages import text as msg

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(msg("users.password-prompt", lang, name=args.name))
    if getpass.getpass(msg("users.password-again", lang)) != first:
        raise UsageError(msg("users.password-mismatch", lang))
    return first


@verb("users", "web console accounts: add NAME --role staff|board|it|reports, disable, enable, reset, list")
def users(args) -> int:
    from pipeline.app import actor_name
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    actor = actor_name(None)
    with session(args, cfg) as s:
        accounts = s.accounts
        if args.action == "list":
            for u in accounts.list():
                state = msg("users.disabled", lang) if u.disabled_at else msg("users.enabled", lang)
                print(f"{u.name}\t{u.role}\t{u.full_name}\t{state}")
            return 0
        if not args.name:
            from pipeline.errors import UsageError

            raise UsageError(msg("users.name-needed", lang, action=args.action))
        if args.action == "add":
            if not args.role:
                from pipeline.errors import UsageError

                raise UsageError(msg("users.role-needed", lang))
            u = accounts.add(args.name, args.role, _password(args, lang), full_name=args.full_name, actor=actor)
        elif args.action == "reset":
            u = accounts.reset(args.name, _password(args, lang), actor=actor)
        else:
            u = accounts.disable(args.name, actor=actor, enable=args.action == "enable")
        print(msg(f"users.done-{args.action}", lang, name=u.name, role=u.role, full_name=u.full_name))
    return 0


def _users_conf(sp) -> None:
    sp.add_argument("action", choices=("add", "disable", "enable", "reset", "list"))
    sp.add_argument("name", nargs="?", help="the account name people sign in with (one word)")
    sp.add_argument("--role", choices=("staff", "board", "it", "reports"), help="with add: what the person may do")
    sp.add_argument("--full-name", help="with add: the person's name as written in posts and on the board "
                                        "(editorial.board), e.g. \"Lê Thị Mai\"; default NAME")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from one line of standard input")


users.configure = _users_conf


@verb("serve", "run the web console (uvicorn) on 127.0.0.1:8080 unless told otherwise")
def serve(args) -> int:
    import uvicorn

    from pipeline.web.app import create_app

    cfg = load(args)
    app = create_app(cfg.path)
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, server_header=False,
                log_level="warning" if not args.verbose else "info")
    return 0


def _serve_conf(sp) -> None:
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: only this machine; "
                                                        "publish it through a TLS reverse proxy, docs/deploying.md)")
    sp.add_argument("--port", type=int, default=8080)


serve.configure = _serve_conf
