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


@verb("users", "help.users")
def users(args) -> int:
    from pipeline.app import actor_name
    from pipeline.messages import text as msg

    cfg = load(args)
    lang = lang_of(args, cfg)
    actor = actor_name(None)
    with session(args, cfg) as s:
        accounts = s.accounts
        accounts.lang = lang
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
        if args.action == "add" and u.role == "board" and cfg.board:
            from pipeline.approval import board_name

            if board_name(u.full_name, cfg.board) is None:  # the console approves in this name
                print(msg("users.not-on-board", lang, full_name=u.full_name, board=", ".join(cfg.board)),
                      file=sys.stderr)
    return 0


def _users_conf(sp) -> None:
    sp.add_argument("action", choices=("add", "disable", "enable", "reset", "list"), help="help.users.action")
    sp.add_argument("name", nargs="?", help="help.users.name")
    sp.add_argument("--role", choices=("staff", "board", "it", "reports"), help="help.users.role")
    sp.add_argument("--full-name", help="help.users.full-name")
    sp.add_argument("--password-stdin", action="store_true", help="help.users.password-stdin")


users.configure = _users_conf


@verb("serve", "help.serve")
def serve(args) -> int:
    import uvicorn

    from pipeline.web.app import create_app

    cfg = load(args)
    app = create_app(cfg.path)
    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1, i.e. from
    # anyone on the machine; the console believes it only from LOA_WEB_TRUSTED_PROXIES (throttling)
    # log_config None: uvicorn's lines go through Loa's handlers (text or JSON, the redacting
    # filter) set up by cli.main, not through uvicorn's own
    uvicorn.run(app, host=args.host, port=args.port, proxy_headers=False, server_header=False, log_config=None,
                log_level="warning" if not args.verbose else "info")
    return 0


def _serve_conf(sp) -> None:
    sp.add_argument("--host", default="127.0.0.1", help="help.serve.host")
    sp.add_argument("--port", type=int, default=8080, help="help.serve.port")


serve.configure = _serve_conf
