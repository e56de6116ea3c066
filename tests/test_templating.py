"""pipeline.templating's kept sandbox verdicts against Jinja's own, object kind by object kind."""

from __future__ import annotations

import collections
import collections.abc
import sys
import types

import jinja2
import markupsafe
import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pipeline.templating import Environment, environment

ATTRS = ["title", "_private", "__class__", "__globals__", "__code__", "__func__", "__self__", "mro", "gi_frame",
         "gi_code", "cr_frame", "ag_code", "f_globals", "tb_frame", "co_code", "append", "pop", "clear", "update",
         "add", "keys", "items", "get", "index", "count", "format", "format_map", "upper", "sort", "setdefault",
         "discard", "extend", "appendleft", "real", "__len__"]


class Plain:
    title = "t"


class WithMethods:
    """Methods of a plain object, one named like ``str.format`` (not wrapped: not a string's)."""

    def upper(self):
        return "U"

    def format(self, *args):
        return "F"

    @staticmethod
    def get(key):
        return key

    @classmethod
    def count(cls):
        return 0


class Lying:
    """An object whose ``__class__`` is not its type: isinstance() reads both."""

    @property
    def __class__(self):
        return types.FunctionType


class LaterMutable:
    """Becomes a MutableMapping (ABC.register) after its verdicts were first asked."""


def _function():
    return 1


def _generator():
    yield 1


async def _coroutine():
    return 1


async def _async_generator():
    yield 1


def _objects() -> list:
    coroutine = _coroutine()
    frame = sys._getframe()
    try:
        raise ValueError
    except ValueError as exc:
        traceback = exc.__traceback__
    objs = [Plain(), Plain, type, _function, Plain().__init__, "text".upper, "text", 1, 1.5, None, [1], (1,),
            {"a": 1}, {1}, frozenset({1}), collections.deque([1]), collections.OrderedDict(a=1),
            types.MappingProxyType({"a": 1}), WithMethods(), WithMethods, _function.__code__, frame, traceback, _generator(), coroutine,
            _async_generator(), Lying(), markupsafe.Markup("x"), collections.UserDict(a=1), collections.UserList([1])]
    return objs, coroutine


def test_every_verdict_is_jinjas_asked_once_or_again():
    """The first answer (worked out) and the second (kept) are Jinja's, for every kind of object
    the sandbox tells apart and the names it refuses; a value that differs changes nothing."""
    ours, jinjas = environment([], "UTC", autoescape=True), ImmutableSandboxedEnvironment()
    objs, coroutine = _objects()
    try:
        compared = 0
        for _round in range(2):
            for obj in objs:
                for attr in ATTRS:
                    value = object() if _round else getattr(obj, attr, None)
                    assert ours.is_safe_attribute(obj, attr, value) == jinjas.is_safe_attribute(obj, attr, value), \
                        (type(obj), attr)
                    compared += 1
        assert compared == 2 * len(objs) * len(ATTRS)
        refused = [(type(o).__name__, a) for o in objs for a in ATTRS if not ours.is_safe_attribute(o, a, None)]
        assert ("function", "__globals__") in refused and ("list", "append") in refused and ("type", "mro") in refused
        assert ("Lying", "__code__") in refused and ("Plain", "title") not in refused
    finally:
        coroutine.close()


def _outcome(f):
    try:
        return f("<b>")
    except Exception as exc:  # noqa: BLE001 - format_map wants a mapping: the same refusal is the same outcome
        return type(exc)


def _same(a, b) -> bool:
    if isinstance(a, jinja2.Undefined) or isinstance(b, jinja2.Undefined):
        return type(a) is type(b) and a._undefined_hint == b._undefined_hint and a._undefined_name == b._undefined_name
    if hasattr(a, "__wrapped__") or hasattr(b, "__wrapped__"):  # str.format, wrapped by the sandbox's formatter
        return getattr(a, "__wrapped__", a) == getattr(b, "__wrapped__", b) and hasattr(a, "__wrapped__") \
            and hasattr(b, "__wrapped__") and _outcome(a) == _outcome(b)
    return a is b or a == b


def test_attribute_access_is_jinjas_asked_once_or_again():
    """``env.getattr`` (what ``{{ obj.attr }}`` runs) answers as Jinja's sandbox does, the first
    time (verdict worked out) and later (verdict kept): values, Jinja's refusals as undefined
    values, the sandbox's wrapper around ``str.format``, and ``obj[attr]`` for a missing
    attribute."""
    ours, jinjas = environment([], "UTC", autoescape=True), ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    objs, coroutine = _objects()
    objs += [{"title": "d", "format": "f"}, markupsafe.Markup("{0}"), "{0}"]
    try:
        for _round in range(3):
            if _round == 2:  # every verdict kept, also those Jinja's getattr never asks (str.format)
                for obj in objs:
                    for attr in ATTRS:
                        ours.is_safe_attribute(obj, attr, None)
            for obj in objs:
                for attr in ATTRS:
                    assert _same(ours.getattr(obj, attr), jinjas.getattr(obj, attr)), (type(obj), attr)
        assert (Plain, "title") in ours._verdicts  # the later rounds took the fast path
        assert ours.getattr({"title": "d"}, "title") == "d" and ours.getattr(Plain(), "title") == "t"
        assert isinstance(ours.getattr(Plain(), "_private"), jinja2.Undefined)
        assert ours.getattr("{0}", "format")("<b>") == "<b>" and ours.getattr(markupsafe.Markup("{0}"), "format")("<b>") == "&lt;b&gt;"
        assert (WithMethods, "upper") in ours._verdicts and ours.getattr(WithMethods(), "format")() == "F"
    finally:
        coroutine.close()


def test_a_class_registered_with_an_abc_later_gets_jinjas_new_verdict():
    ours = Environment()
    obj = LaterMutable()
    assert ours.is_safe_attribute(obj, "clear", None) is True  # not a known mutable yet: kept as safe
    collections.abc.MutableMapping.register(LaterMutable)
    assert ImmutableSandboxedEnvironment().is_safe_attribute(obj, "clear", None) is False
    assert ours.is_safe_attribute(obj, "clear", None) is False


def test_an_object_lying_about_its_class_is_not_kept_under_its_type():
    ours = Environment()
    assert ours.is_safe_attribute(Lying(), "__code__", None) is False
    assert ours.is_safe_attribute(Lying(), "title", None) is True
    assert not any(cls is Lying for cls, _attr in ours._verdicts)


def test_verdicts_are_bounded(monkeypatch):
    ours = Environment()
    monkeypatch.setattr(Environment, "VERDICTS_MAX", 3)
    for i in range(10):
        assert ours.is_safe_attribute(Plain(), f"name{i}", None) is True
        assert ours.is_safe_attribute(Plain(), f"_name{i}", None) is False
    assert len(ours._verdicts) == 3


@pytest.mark.parametrize("source", [
    "{{ f.__globals__ }}", "{{ ''.__class__.__mro__ }}", "{{ items.append(1) }}", "{{ d.clear() }}",
    "{{ f.__code__ }}", "{{ items.pop() }}",
])
def test_templates_are_refused_as_often_as_jinja_refuses_them(source):
    """Rendered twice (the second time from kept verdicts): refused both times."""
    env = environment([], "UTC", autoescape=True)
    tpl = env.from_string(source)
    for _ in range(2):
        with pytest.raises(jinja2.sandbox.SecurityError):
            tpl.render(f=_function, items=[1, 2], d={"a": 1})
