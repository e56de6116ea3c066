"""The render benchmark's corpus is valid input: `loa check` finds no error in it, and Pelican and Hugo
get the same posts. (The benchmark itself is bench/render.py; speed is never asserted in tests.)"""

from __future__ import annotations

import importlib.util
import json
import sys
import unicodedata
from datetime import timedelta
from pathlib import Path

import yaml

from pipeline.cli import main

ROOT = Path(__file__).resolve().parent.parent


def _corpus_module():
    if "bench_corpus" not in sys.modules:  # bench/ is scripts, not a package
        spec = importlib.util.spec_from_file_location("bench_corpus", ROOT / "bench" / "corpus.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["bench_corpus"] = mod  # dataclasses look their module up while the file runs
        spec.loader.exec_module(mod)
    return sys.modules["bench_corpus"]


def test_generated_corpus_passes_loa_check(tmp_path, capsys):
    corpus = _corpus_module().generate(tmp_path / "c", 30)
    assert main(["--config", str(corpus.loa / "config.toml"), "check", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["posts"] == 30
    assert report["errors"] == 0, [p for p in report["problems"] if p["severity"] == "error"]
    # the only warnings are the posts deliberately left awaiting the editorial board
    assert {p["code"] for p in report["problems"]} <= {"approval.missing"}
    awaiting = sum(p["code"] == "approval.missing" for p in report["problems"])
    assert 0 < awaiting < 30


def test_corpus_is_realistic_and_the_same_for_every_tool(tmp_path):
    corpus = _corpus_module().generate(tmp_path / "c", 30, seed=7)
    loa = sorted(p.relative_to(corpus.loa / "content") for p in (corpus.loa / "content").rglob("*.md"))
    pelican = sorted(p.relative_to(corpus.pelican / "content") for p in (corpus.pelican / "content").rglob("*.md"))
    hugo = sorted(p.relative_to(corpus.hugo / "content") for p in (corpus.hugo / "content").rglob("*.md"))
    assert len(loa) == 30 and loa == pelican == hugo
    types, links, tables, structured = set(), 0, 0, 0
    for post in corpus.posts:
        body = post.body
        assert unicodedata.is_normalized("NFC", body)
        assert 1000 <= len(body.encode()) <= 3000, post.rel
        structured += "## " in body or "\n- " in body or "\n1. " in body
        links += "](../../" in body
        tables += "| --- |" in body
        types.add(post.type)
        # Pelican: metadata header, then the same body with its own link syntax
        text = (corpus.pelican / "content" / post.rel).read_text(encoding="utf-8")
        head, pbody = text.split("\n\n", 1)
        assert f"Title: {post.title}" in head.split("\n") and f"Slug: {post.slug}" in head.split("\n")
        assert pbody == body.replace("](../../", "]({filename}../../")
        # Hugo: YAML front matter with an offset on the date, then the same body
        _, front, hbody = (corpus.hugo / "content" / post.rel).read_text(encoding="utf-8").split("---\n", 2)
        meta = yaml.safe_load(front)
        assert meta["title"] == post.title and meta["slug"] == post.slug
        assert meta["date"].utcoffset() == timedelta(hours=7)
        assert hbody == body
    assert types == {"news", "guide"} and links > 0 and tables > 0 and structured >= 15
