"""Documentation stays true: every config key documented, every CLI verb with help, README commands."""

import re
from pathlib import Path

import pytest

import publishers
from pipeline.cli import build_parser
from pipeline.schema import iter_keys

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("key", sorted(set(iter_keys())))
def test_every_config_key_is_documented(key):
    assert f"`{key}`" in CONFIG_DOC, f"{key} is missing from docs/configuration.md (python -m pipeline.schema)"


@pytest.mark.parametrize("type_name", publishers.known_types())
def test_every_channel_option_is_documented(type_name):
    cls = publishers.get(type_name)
    for opt in cls.options:
        assert f"`channels.<name>.{opt.name}`" in CONFIG_DOC, f"{type_name}.{opt.name} undocumented"


def _verbs():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "verb")
    return sub.choices


@pytest.mark.parametrize("verb", sorted(_verbs()))
def test_every_verb_has_help(verb, capsys):
    parser = _verbs()[verb]
    assert parser.description and len(parser.description) > 20
    with pytest.raises(SystemExit) as ei:
        build_parser("en").parse_args([verb, "--help"])
    assert ei.value.code == 0
    assert "usage: loa" in capsys.readouterr().out  # Vietnamese (the default): tests/test_i18n.py


def test_every_verb_module_registers_its_verbs():
    from pipeline.commands import MODULES
    from pipeline.commands.base import VERBS

    build_parser()
    modules = {fn.__module__ for fn, _help in VERBS.values()}
    assert modules == {f"pipeline.commands.{m}" for m in MODULES}


def test_readme_holds_exactly_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.S)
    assert blocks[0].strip() == "python3 -m pip install -e . && loa publish"
    assert blocks[1].strip() == "python3 -m pip install -e '.[test]' && python3 -m pytest -q"
    ci = (ROOT / ".ci/run").read_text()
    assert "python -m pip install -q -e '.[test]' && python -m pytest -q" in ci
