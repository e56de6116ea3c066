"""``loa check --fix``: repair what can be repaired safely, and show every change.

Repairs (pipeline/vietnamese.py): a file saved as windows-1258 / TCVN3 / VNI becomes UTF-8; text
becomes Unicode NFC; TCVN3/VNI text pasted into a UTF-8 file and UTF-8 mojibake are converted where
the result is clearly Vietnamese; ``Ð`` becomes ``Đ``; the configured tone style is applied except
inside quotations and proper names listed in ``[text] proper_names``. Nothing is rewritten without
being shown; ``--backup`` keeps ``<file>.bak``.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from pipeline import content
from pipeline.controls import escape_control


def run_fix(cfg, args, lang: str) -> int:
    from pipeline.messages import text as msg
    from pipeline.vietnamese import fix_file_bytes

    paths = [Path(p) for p in args.paths] if args.paths else None
    changed = 0
    for f in content.iter_post_files(cfg.content_dir, paths):
        if f.is_symlink():
            continue
        data = f.read_bytes()
        if len(data) > cfg.max_file_bytes or b"\x00" in data[:8192]:
            continue
        result = fix_file_bytes(data, tone_style=cfg.tone_style, protect=cfg.proper_names)
        if result.text is None:
            continue
        new = result.text.encode("utf-8")
        if new == data:
            continue
        rel = escape_control(content.relpath(f, cfg), newlines=True)  # a file name is shown, never obeyed
        if result.encoding_found != "utf-8":
            print(msg("fix.converted", lang, path=rel, encoding=result.encoding_found))
        for ch in result.changes:
            print(f"{rel}:{ch.line}: {ch.code}: {ch.before!r} -> {ch.after!r}")
        if result.encoding_found == "utf-8":
            import unicodedata

            decoded = data.decode("utf-8", errors="replace")
            if unicodedata.normalize("NFC", decoded) != decoded:
                print(msg("fix.nfc", lang, path=rel))
        if args.backup:
            shutil.copy2(f, f.with_name(f.name + ".bak"))
        tmp = f.with_name(f".{f.name}.loa-fix")
        tmp.write_bytes(new)
        os.replace(tmp, f)
        changed += 1
    print(msg("fix.count", lang, count=changed), file=sys.stderr)
    return changed
