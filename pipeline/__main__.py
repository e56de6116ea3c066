"""``loa`` and ``python -m pipeline``: the command line (:mod:`pipeline.cli`) as a process."""

from pipeline.cli import main


def run() -> int:
    """The process's whole life: the command, then a quick exit. Everything still alive is about to
    go, so the interpreter's last garbage collection need not visit it (after a large preview that
    visit was most of the exit's cost)."""
    code = main()
    import gc

    gc.freeze()
    return code


if __name__ == "__main__":
    raise SystemExit(run())
