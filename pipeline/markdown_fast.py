"""Python-Markdown, the same HTML in less time: some of its steps skip work that cannot change it.

**The inline step.** Python-Markdown tries each of its inline patterns (code, escapes, links,
images, autolinks, line breaks, HTML, entities, emphasis) on every piece of text in the tree, one
call and one regular expression search per pattern and piece, most of which find nothing, which
was the largest part of a conversion of Loa's posts. Every default pattern can only match where the text holds a
given string (a backtick, ``[``, ``<``, ``&``, ``*``, ``_``, two spaces and a newline...).
:class:`InlineProcessor` reads those strings off each pattern's compiled regular expression once,
and skips the pattern on a text without any of them, which is exactly what Python-Markdown would do
after searching it in vain. A pattern whose start cannot be read (a third party's, or one that
overrides how its expression is fetched) is always tried, as Python-Markdown does. The four
reference patterns (``[text][id]``, ``[id]`` and their images) replace a match only when its id is
among the post's reference definitions, which are all read before this step: in a post without
any, they are not tried at all (they would parse every ``[...]`` and leave it as it is). A text in
which no pattern left a placeholder is attached to the tree as Python-Markdown's placeholder loop
would, in one step. Most texts hold none of the patterns' strings at all: one look for a
character of each (the line break of ``"  \n"``) tells that before the patterns are taken in turn.
Such a text, or tail, is left in place by :meth:`InlineProcessor.run` without the two steps (the
patterns, the placeholders) that would hand it back as it is.
The link and image patterns find a link's text and address by walking them a character at a time;
:class:`LinkParsing` finds the common ones (no nested ``[``, no title, no parentheses in the
address) with one search each, where the walk would stop, and leaves any other to the walk.

**The line breaks and unescape steps.** The step that puts line breaks between blocks asks
``md.is_block_level`` (which lowercases the tag and scans a list) up to three times per element;
:class:`PrettifyTreeprocessor` asks once per tag, the answer depending on the tag and that list
alone (kept while the list stays the same), and sets a childless block's tail without a call. The
step that puts back escaped characters runs a regular expression over every text, tail and attribute
value; one without ``STX`` holds no escape, and :class:`UnescapeTreeprocessor` leaves it as it is.

**The whitespace and fenced code steps.** Two steps search the whole post with an expression that
cannot use a literal start and so is tried at every position: the first step, for lines of spaces
alone (which need a space before a line break), and the ``fenced_code`` extension, for a fence
(three backticks or tildes). :class:`NormalizeWhitespace` and :class:`FencedBlockSkip` search only a
post that holds those strings; another is what the stock step gives after searching in vain. Each
step before the block parser joins the lines into one text and splits it again: the first hands
them on as :class:`_Lines`, which keep that text until changed in place, and the next ones (and the
parser) read it rather than joining again.

**The raw HTML step.** Before parsing blocks, Python-Markdown runs an HTML parser over the whole
post to set raw HTML aside. A post without ``<`` and ``&`` gives that parser nothing but text, which
it hands back unchanged; :class:`HtmlBlockPreprocessor` hands it back without the parser.

**The attribute lists step.** The ``attr_list`` extension walks every element of the tree looking
for ``{: ...}``; it changes an element only where that matches, which needs a ``{`` that the post's
text would hold. :class:`AttrListTreeprocessor` does not walk the tree of a post without one.

**The block parser.** For every block, Python-Markdown sorts its block processors into a new list
and asks each in turn whether it takes the block, most of them by searching the whole block with a
regular expression. A header needs a ``#``, a block quote a ``>``, a table a ``|``, a rule a
``-``, ``_`` or ``*``, a Setext header a line break followed by ``=`` or ``-``, a reference
definition a ``]``. :class:`BlockParser` keeps the sorted list until the registry
changes and does not ask a processor about a block without any of its strings: that processor's
test would say no (the reference one's run would put the block back and return False). The strings
are tied to the expression they were read from: a processor whose expression differs is always
asked, as is any processor that is not one of those stock classes. Some strings are a first look,
and a finer one follows (:func:`block_refinement`): a rule's line begins with its character, a
Setext header's second line with ``=`` or ``-``, a definition has ``]:``. The processors that look
at the block's start (empty, indented, list) are not asked about a block that begins otherwise
(:func:`block_leads`). The ``tables`` extension splits a row into cells by walking its backslashes,
backticks and pipes; :class:`TableProcessor` splits a row without the first two at its pipes.

**The serializer.** Python-Markdown writes the tree through a queue of the pieces still to write;
:func:`to_html_string` writes the plain elements Markdown builds in one call each, and hands any
other tree (a comment, a ``QName``, an element subclass, a text that is not a string...) to the
stock serializer.

The HTML is the same, byte for byte: ``tests/test_markdown_fast.py`` compares it with stock
Python-Markdown on the sample posts, the benchmark corpus and random text made of Markdown's
special characters. Every step replaces only a stock one (the exact class), and all but the first
inline skipping, the raw HTML and the attribute lists steps reproduce some of Python-Markdown's own
code, so they are put in only with the version they were written from (:data:`SAME_CODE`).
"""

from __future__ import annotations

import functools
import re
import sys
import xml.etree.ElementTree as etree
from xml.etree.ElementTree import Element

import markdown
from markdown import blockparser, blockprocessors, inlinepatterns, preprocessors, serializers, treeprocessors, util
from markdown.extensions import attr_list, tables

# Most steps reproduce what a stock method does (its loop, its return value after searching in
# vain) as Python-Markdown 3.11 wrote it; with another version those are left out and its own
# steps run (tests/test_markdown_fast.py then fails on the missing steps, for a look at the new code).
SAME_CODE = tuple(getattr(markdown, "__version_info__", ())[:2]) == (3, 11)

try:  # the parser behind re.compile; private, so its absence only turns the skipping off
    from re import _constants as _sre
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python before 3.11
    _sre = _sre_parse = None

_ZERO_WIDTH = () if _sre is None else (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT)
_REPEATS = () if _sre is None else tuple(
    op for op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)) if op is not None)


@functools.lru_cache(maxsize=None)
def match_starts(pattern: str, flags: int = 0) -> frozenset[str] | None:
    """Strings one of which every match of ``pattern`` begins with, or ``None`` when a match may
    begin anywhere (or the expression is beyond this reading). ``r"  \\n"`` gives ``{"  \\n"}``,
    ``r"(?<!!)\\["`` gives ``{"["}``, ``r"\\*|_"`` gives ``{"*", "_"}``, ``r"a*b"`` gives ``None``."""
    if _sre_parse is None or flags & re.IGNORECASE:
        return None
    try:
        parsed = _sre_parse.parse(pattern, flags)
    except Exception:  # noqa: BLE001 - whatever the private parser raises, the pattern is just tried
        return None
    if parsed.state.flags & re.IGNORECASE:  # an inline (?i)
        return None
    starts = _starts(list(parsed))
    return frozenset(starts) if starts and "" not in starts else None


def _starts(items: list) -> set[str] | None:
    """The possible literal beginnings of a sequence of parsed items (``{""}``: nothing known)."""
    out = {""}
    for op, av in items:
        if op in _ZERO_WIDTH:  # look-arounds and anchors consume nothing: skipping them only widens
            continue
        if op is _sre.LITERAL:
            out = {s + chr(av) for s in out}
            continue
        if op is _sre.SUBPATTERN:
            sub = None if av[1] & re.IGNORECASE else _starts(list(av[-1]))  # (?i:...)
        elif op is _sre.BRANCH:
            subs = [_starts(list(branch)) for branch in av[1]]
            sub = None if any(s is None for s in subs) else set().union(*subs)
        elif op in _REPEATS and av[0] >= 1:
            sub = _starts(list(av[2]))
        elif op is getattr(_sre, "ATOMIC_GROUP", None):
            sub = _starts(list(av))
        elif op is _sre.IN and av and all(o is _sre.LITERAL for o, _v in av):
            sub = {chr(v) for _o, v in av}
        else:
            sub = None
        if sub is None or "" in sub:  # this item may begin with anything, or with nothing
            return out
        return {s + t for s in out for t in sub}
    return out


def pattern_starts(pattern) -> frozenset[str] | None:
    """:func:`match_starts` of an inline pattern, ``None`` for a pattern Python-Markdown does not
    search with its ``compiled_re`` as given (old-style patterns, overridden ``getCompiledRegExp``)."""
    if not isinstance(pattern, inlinepatterns.InlineProcessor):
        return None
    if type(pattern).getCompiledRegExp is not inlinepatterns.Pattern.getCompiledRegExp:
        return None
    compiled = getattr(pattern, "compiled_re", None)
    if not isinstance(compiled, re.Pattern):
        return None
    return match_starts(compiled.pattern, compiled.flags)


# The reference link and image patterns (``[text][id]``, ``[id]``, ``![alt][id]``, ``![id]``): their
# handleMatch leaves a match whose id is not among ``md.references`` as it is (``None`` for a node),
# so in a post without reference definitions they find nothing to replace, however many ``[`` it has.
_REFERENCE_PATTERNS = frozenset({
    inlinepatterns.ReferenceInlineProcessor, inlinepatterns.ShortReferenceInlineProcessor,
    inlinepatterns.ImageReferenceInlineProcessor, inlinepatterns.ShortImageReferenceInlineProcessor,
})
_NOWHERE: frozenset[str] = frozenset()  # the starts of a pattern that is never tried


_BRACKETS = re.compile(r"[\[\]]")
_LINK_STOPS = re.compile(r"""[()'"]""")


class LinkParsing:
    """Mixed into the stock link and image patterns, whose ``getText`` and ``getLink`` walk the
    text of a link and its address one character at a time in Python. The common case, a text
    without nested ``[`` and an address without a title or parentheses, is found with one search
    each: the text ends at the first ``]`` before any ``[``, the address at the first ``)`` before
    any ``(`` or quote, as the walk would find them. Any other case takes the walk."""

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802 - Python-Markdown's name
        bracket = _BRACKETS.search(data, index)
        if bracket is not None and bracket.group() == "]":
            end = bracket.start()
            return data[index:end], end + 1, True
        return super().getText(data, index)

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        m = self.RE_LINK.match(data, pos=index)
        if m and not m.group(1):  # no <address>: the walk from the end of the match
            stop = _LINK_STOPS.search(data, m.end())
            if stop is not None and stop.group() == ")":
                href = data[m.end():stop.start()]
                if util.STX in href:  # a placeholder, which unescape's expression needs
                    href = self.unescape(href)
                return href.strip(), None, stop.end(), True
        return super().getLink(data, index)


class LinkInlineProcessor(LinkParsing, inlinepatterns.LinkInlineProcessor):
    """The stock ``[text](address)`` pattern with :class:`LinkParsing`."""


class ImageInlineProcessor(LinkParsing, inlinepatterns.ImageInlineProcessor):
    """The stock ``![alt](address)`` pattern with :class:`LinkParsing`."""


def _gates(patterns: list) -> tuple[str, ...] | None:
    """Characters one of which a text holds wherever one of ``patterns`` may match: the last of
    each start string (a line break, rather than the spaces before it), ``None`` when a pattern may
    begin anywhere."""
    if any(starts is None for _p, starts in patterns):
        return None
    return tuple(sorted({s[-1] for _p, starts in patterns for s in starts}))


class InlineProcessor(treeprocessors.InlineProcessor):
    """The stock inline tree processor, with ``__handleInline`` trying only the patterns whose
    beginning the text holds. Python-Markdown's own loop, otherwise: the same order, the same
    ``__applyPattern`` for every pattern tried."""

    _loa_seen: list | None = None  # the patterns of the last run, to read their starts only once

    def run(self, tree, ancestors=None):
        patterns = list(self.inlinePatterns)
        if patterns != self._loa_seen:  # the same objects: an identity check each
            self._loa_seen = patterns
            self._loa_read = [(p, pattern_starts(p)) for p in patterns]
            self._loa_unreferenced = [(p, _NOWHERE if SAME_CODE and type(p) in _REFERENCE_PATTERNS else starts)
                                      for p, starts in self._loa_read]
            self._loa_read_gates = _gates(self._loa_read)
            self._loa_unreferenced_gates = _gates(self._loa_unreferenced)
        # references are defined while the blocks are parsed, before this step
        if self.md.references:
            self._loa_patterns, self._loa_gates = self._loa_read, self._loa_read_gates
        else:
            self._loa_patterns, self._loa_gates = self._loa_unreferenced, self._loa_unreferenced_gates
        if not SAME_CODE or self._loa_gates is None:
            return super().run(tree, ancestors)
        return self._loa_run(tree, ancestors)

    # Python-Markdown's InlineProcessor.run, kept in one piece and in its order, so that it can be
    # read against the stock function line by line
    def _loa_run(self, tree, ancestors=None):
        """Python-Markdown's own ``run``, leaving as they are the texts and tails that hold none of
        the gates (and no ``STX``, which a placeholder begins with): ``__handleInline`` would hand
        them back unchanged and ``__processPlaceholders`` put them back where they were, with
        nothing to insert."""
        handle = self._InlineProcessor__handleInline
        place = self._InlineProcessor__processPlaceholders
        gates = (*self._loa_gates, util.STX)
        atomic = util.AtomicString
        self.stashed_nodes = {}
        tree_parents = [] if ancestors is None else ancestors[:]
        self.parent_map = {c: p for p in tree.iter() for c in p}
        stack = [(tree, tree_parents)]
        self._InlineProcessor__build_ancestors(tree, tree_parents)

        while stack:
            currElement, parents = stack.pop(0)  # noqa: N806 - Python-Markdown's names

            self.ancestors = parents
            if currElement is not tree:
                self.ancestors.append(currElement.tag.lower())

            insertQueue = []  # noqa: N806
            for child in currElement:
                text = child.text
                if text and not isinstance(text, atomic):
                    for gate in gates:
                        if gate in text:
                            break
                    else:
                        text = None  # nothing to do: the stock steps give it back as it is
                    if text is not None:
                        self.ancestors.append(child.tag.lower())
                        child.text = None
                        lst = place(handle(text), child)
                        for item in lst:
                            self.parent_map[item[0]] = child
                        stack += lst
                        insertQueue.append((child, lst))
                        self.ancestors.pop()
                tail = child.tail
                if tail:
                    for gate in gates:
                        if gate in tail:
                            break
                    else:
                        tail = None
                    if tail is not None:
                        tail = handle(tail)
                        dumby = etree.Element('d')
                        child.tail = None
                        tailResult = place(tail, dumby, False)  # noqa: N806
                        if dumby.tail:
                            child.tail = dumby.tail
                        pos = list(currElement).index(child) + 1
                        tailResult.reverse()
                        for newChild in tailResult:  # noqa: N806
                            self.parent_map[newChild[0]] = currElement
                            currElement.insert(pos, newChild[0])
                if len(child):
                    self.parent_map[child] = currElement
                    stack.append((child, self.ancestors[:]))

            for element, lst in insertQueue:
                for i, obj in enumerate(lst):
                    newChild = obj[0]  # noqa: N806
                    element.insert(i, newChild)
        return tree

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:  # noqa: N802, N803
        if isinstance(data, util.AtomicString):
            return data
        gates = self._loa_gates
        if gates is not None:  # most texts hold none of them: one look for all the patterns
            for gate in gates:
                if gate in data:
                    break
            else:
                return data
        apply = self._InlineProcessor__applyPattern
        patterns = self._loa_patterns
        count = len(patterns)
        start = 0
        while patternIndex < count:
            pattern, starts = patterns[patternIndex]
            if starts is not None:
                for s in starts:
                    if s in data:
                        break
                else:  # no match possible: what __applyPattern returns after searching in vain
                    patternIndex += 1
                    start = 0
                    continue
            data, matched, start = apply(pattern, data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


    def _InlineProcessor__processPlaceholders(self, data, parent, isText=True):  # noqa: N802, N803
        if not SAME_CODE or not data or self._InlineProcessor__placeholder_prefix in data:
            return super()._InlineProcessor__processPlaceholders(data, parent, isText)
        # a text without placeholders: what Python-Markdown's loop does with it in one turn
        text = data[0:]
        if isinstance(data, util.AtomicString):
            text = util.AtomicString(text)
        if isText:
            parent.text = parent.text + text if parent.text else text
        else:
            parent.tail = parent.tail + text if parent.tail else text
        return []


class PrettifyTreeprocessor(treeprocessors.PrettifyTreeprocessor):
    """The stock step that puts line breaks between blocks, asking ``md.is_block_level`` once per
    tag rather than up to three times per element (it lowercases the tag and scans a list each
    time); the answer depends on the tag and on ``md.block_level_elements`` alone, so the answers
    are kept from run to run while that list stays the same (and ``is_block_level`` is the stock one)."""

    _loa_elements: list | None = None

    def run(self, root) -> None:
        md = self.md
        elements = md.block_level_elements
        if (elements != self._loa_elements or "is_block_level" in vars(md)
                or type(md).is_block_level is not markdown.Markdown.is_block_level):
            self._loa_block_level = {}
            self._loa_elements = list(elements) if isinstance(elements, list) else None
        return super().run(root)

    def _loa_is_block_level(self, tag) -> bool:
        try:
            return self._loa_block_level[tag]
        except KeyError:
            level = self._loa_block_level[tag] = self.md.is_block_level(tag)
            return level
        except TypeError:  # a tag that is no dictionary key
            return self.md.is_block_level(tag)

    def _prettifyETree(self, elem) -> None:  # noqa: N802 - Python-Markdown's name
        """Python-Markdown's own, with the kept answers; a block-level child without children
        (most paragraphs, headers, items) gets in place what the call for it would do: its tail."""
        i = "\n"
        is_block_level = self._loa_is_block_level
        levels = self._loa_block_level
        tag = elem.tag
        if is_block_level(tag) and tag not in ['code', 'pre']:
            text = elem.text
            if (not text or not text.strip()) \
                    and len(elem) and is_block_level(elem[0].tag):
                elem.text = i
            for e in elem:
                tag = e.tag
                level = levels.get(tag) if tag.__class__ is str else None
                if level is None:
                    level = is_block_level(tag)
                if level:
                    if len(e):
                        self._prettifyETree(e)
                    else:
                        tail = e.tail
                        if not tail or not tail.strip():
                            e.tail = i
        tail = elem.tail
        if not tail or not tail.strip():
            elem.tail = i


class UnescapeTreeprocessor(treeprocessors.UnescapeTreeprocessor):
    """The stock step that puts back escaped characters, leaving alone a text or attribute value
    without ``STX``, which its expression needs (if it is a plain ``str``: the stock step hands back
    any other as ``str``)."""

    def run(self, root) -> None:
        stx, unescape = util.STX, self.unescape
        for elem in root.iter():
            text = elem.text
            if text and (stx in text or type(text) is not str) and not elem.tag == 'code':
                elem.text = unescape(text)
            tail = elem.tail
            if tail and (stx in tail or type(tail) is not str):
                elem.tail = unescape(tail)
            for key, value in elem.items():
                if value is not None and (type(value) is not str or stx in value):  # None: a bare attribute
                    elem.set(key, unescape(value))


class _Lines(list):
    """The lines of a post as :class:`NormalizeWhitespace` hands them on, with the text they were
    split from (``source``), which the next steps would otherwise join them into again. Any change
    to the list in place forgets the text (``source`` is then ``None``)."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        super().__init__(source.split("\n"))
        self.source: str | None = source


def _forgetting(name: str):
    method = getattr(list, name)

    def changed(self, *args):
        self.source = None
        return method(self, *args)
    changed.__name__ = name
    return changed


for _name in ("__setitem__", "__delitem__", "__iadd__", "__imul__", "append", "extend", "insert", "pop", "remove",
              "clear", "sort", "reverse"):
    setattr(_Lines, _name, _forgetting(_name))
del _name


def _joined(lines: list[str]) -> str:
    """``"\\n".join(lines)``, kept from :class:`_Lines` where it is."""
    if type(lines) is _Lines and lines.source is not None:
        return lines.source
    return "\n".join(lines)


def _split(lines: list[str], text: str) -> list[str]:
    """``text.split("\\n")`` for ``text`` joined from ``lines``: ``lines`` itself where it is the
    :class:`_Lines` of that text."""
    if type(lines) is _Lines and lines.source is text:
        return lines
    return text.split("\n")


class NormalizeWhitespace(preprocessors.NormalizeWhitespace):
    """The stock first step, whose last expression (spaces alone on a line, after a line break)
    searches the whole post from every position; a post without a space before a line break has no
    such line, and is handed on without the search. The replacements and the tab expansion are made
    only in a post that holds what they replace (each copies the post otherwise), and the lines are
    handed on as :class:`_Lines`, with their text."""

    def run(self, lines: list[str]) -> list[str]:
        """Python-Markdown's own, with the searches skipped where they cannot match."""
        source = '\n'.join(lines)
        if util.STX in source or util.ETX in source:
            source = source.replace(util.STX, "").replace(util.ETX, "")
        if "\r" in source:
            source = source.replace("\r\n", "\n").replace("\r", "\n")
        source += "\n\n"
        if "\t" in source:
            source = source.expandtabs(self.md.tab_length)
        if " \n" in source:
            source = re.sub(r'(?<=\n) +\n', '\n', source)
        return _Lines(source)


class FencedBlockSkip:
    """Mixed into the ``fenced_code`` extension's step, which searches the whole post for a fence, a
    line opening with three backticks or tildes: a post without ``````` and ``~~~`` is handed on as
    it is (what the stock step returns after searching in vain). A mixin, made into a subclass only
    once the extension is loaded: its module is imported without Pygments (``pipeline.render``)."""

    def run(self, lines: list[str]) -> list[str]:
        text = _joined(lines)
        if ("`" in text and "```" in text) or ("~" in text and "~~~" in text):  # one character first: cheaper
            return super().run(lines)
        return _split(lines, text)


@functools.lru_cache(maxsize=None)
def _fenced_block_preprocessor(base: type) -> type:
    return type("FencedBlockPreprocessor", (FencedBlockSkip, base), {"__module__": __name__})


class HtmlBlockPreprocessor(preprocessors.HtmlBlockPreprocessor):
    """The stock raw HTML step, skipped for a text without ``<`` and ``&``: the only characters on
    which its parser (``convert_charrefs=False``) does anything but hand the text back."""

    def run(self, lines: list[str]) -> list[str]:
        source = _joined(lines)
        if "<" in source or "&" in source:
            return super().run(lines)
        return _split(lines, source)  # what the stock step returns for text alone


class AttrListTreeprocessor(attr_list.AttrListTreeprocessor):
    """The ``attr_list`` extension's step, skipped for a post without ``{``. The tree's texts come
    from the post's lines (an escaped ``\\{`` is a placeholder until later), so a post without
    ``{`` has no ``{: ...}`` anywhere for the step to act on."""

    def run(self, doc) -> None:
        if "{" in _joined(self.md.lines):
            super().run(doc)


# Strings one of which a block must hold for a stock block processor to take it, with the
# expression its test (for ``reference``: its run) searches, as that processor's class has it; a
# processor whose expression differs (another Python-Markdown) gets no strings and is always tried.
# Single characters where they do (a search for one is several times cheaper than for two).
_BLOCK_NEEDLES = {
    blockprocessors.HashHeaderProcessor: (
        "RE", r'(?:^|\n)(?P<level>#{1,6})(?P<header>(?:\\.|[^\\#]|#+(?=[^#\n]))*?)#*(?:\n|$)', ("#",)),
    # the second line of a Setext header is made of ``=`` or ``-`` (:func:`_may_be_setext`)
    blockprocessors.SetextHeaderProcessor: ("RE", r'^.*?\n(?:=+|-+)[ ]*(\n|$)', ("\n",)),
    blockprocessors.HRProcessor: (
        "SEARCH_RE",
        r'^[ ]{0,3}(?=(?P<atomicgroup>(-+[ ]{0,2}){3,}|(_+[ ]{0,2}){3,}|(\*+[ ]{0,2}){3,}))(?P=atomicgroup)[ ]*$', ("-", "_", "*")),
    blockprocessors.BlockQuoteProcessor: ("RE", r'(^|\n)[ ]{0,3}>[ ]?(.*)', (">",)),
    # its test says yes to every block; its run puts back a block without a definition, returning False
    # (a definition has ``]:``, :func:`_may_be_reference`)
    blockprocessors.ReferenceProcessor: (
        "RE", r'^[ ]{0,3}\[([^\[\]]*)\]:[ ]*(?:\n[ ]*)?([^\s]+)[ ]*(?:\n[ ]*)?((["\'])(.*)\4[ ]*|\((.*)\)[ ]*)?$',
        ("]",)),
}


def _may_be_rule(block: str) -> bool:
    """Whether a line of ``block`` begins, after at most three spaces, with ``-``, ``_`` or ``*``,
    as a rule's line does. The rule's expression is tried at every position of the block; most
    blocks are one line, looked at here once."""
    start = 0
    while True:
        head = block[start:start + 4].lstrip(" ")[:1]
        if head and head in "-_*":
            return True
        start = block.find("\n", start) + 1
        if not start:
            return False


def _may_be_setext(block: str) -> bool:
    """Whether the second line of ``block`` begins with ``=`` or ``-``: the Setext expression is
    matched at the block's start and its ``.*?`` does not cross a line break."""
    second = block.find("\n") + 1
    return 0 < second and block[second:second + 1] in ("=", "-")


def _may_be_reference(block: str) -> bool:
    return "]:" in block  # a two-character search, made only in a block that has a ``]``


_REFINEMENTS = {
    blockprocessors.HRProcessor: _may_be_rule,
    blockprocessors.SetextHeaderProcessor: _may_be_setext,
    blockprocessors.ReferenceProcessor: _may_be_reference,
}


def block_refinement(processor):
    """A second, finer test of a block that holds one of :func:`block_needles`' strings (``None``:
    none): ``False`` where the processor would refuse the block too."""
    refine = _REFINEMENTS.get(type(processor))
    if refine is None or block_needles(processor) is None:
        return None
    if refine is _may_be_setext and processor.RE.flags & re.DOTALL:  # its ``.`` would cross lines
        return None
    return refine


_DECIMAL = "0"  # the first character of a block, when it is a decimal digit (what ``\d`` matches)


def block_leads(processor) -> frozenset[str] | None:
    """The first characters (``""`` for an empty block, ``"0"`` for any decimal digit) one of which
    a block begins with wherever ``processor`` takes it, ``None`` when not known. The tests of these
    stock processors look at the block's start: an empty block or a blank line, an indented one
    (``tab_length`` spaces), a list item (up to ``tab_length - 1`` spaces, then a number and a dot,
    or a bullet)."""
    kind = type(processor)
    tab = getattr(processor, "tab_length", None)
    if type(tab) is not int or tab < 1 or kind.test is not _STOCK_TESTS.get(kind):
        return None
    if kind is blockprocessors.EmptyBlockProcessor:
        return frozenset(("", "\n"))
    if kind in (blockprocessors.ListIndentProcessor, blockprocessors.CodeBlockProcessor):
        return frozenset(" ")
    compiled = getattr(processor, "RE", None)
    if not isinstance(compiled, re.Pattern) or compiled.flags & re.IGNORECASE:
        return None
    if issubclass(kind, blockprocessors.UListProcessor):
        return frozenset(" *+-") if compiled.pattern == r'^[ ]{0,%d}[*+-][ ]+(.*)' % (tab - 1) else None
    if compiled.pattern == r'^[ ]{0,%d}\d+\.[ ]+(.*)' % (tab - 1):
        return frozenset((" ", _DECIMAL))
    return None


def _stock_tests() -> dict:
    tests = {kind: kind.test for kind in (blockprocessors.EmptyBlockProcessor, blockprocessors.ListIndentProcessor,
                                          blockprocessors.CodeBlockProcessor, blockprocessors.OListProcessor,
                                          blockprocessors.UListProcessor)}
    try:  # the sane_lists extension's lists keep the stock tests
        from markdown.extensions import sane_lists
    except ImportError:  # pragma: no cover
        return tests
    for kind, base in ((sane_lists.SaneOListProcessor, blockprocessors.OListProcessor),
                       (sane_lists.SaneUListProcessor, blockprocessors.UListProcessor)):
        if kind.test is base.test:
            tests[kind] = base.test
    return tests


_STOCK_TESTS = _stock_tests()


def block_needles(processor) -> tuple[str, ...] | None:
    """Strings one of which a block holds wherever the stock ``processor`` takes it (``None``: no
    such strings known, the processor is always tried). A table's first row has a ``|``: without
    one, its test splits the row into a single cell and has no border, which is no table."""
    if type(processor) in (tables.TableProcessor, TableProcessor):
        return ("|",)
    known = _BLOCK_NEEDLES.get(type(processor))
    if known is None:
        return None
    attr, source, needles = known
    compiled = getattr(processor, attr, None)
    return needles if isinstance(compiled, re.Pattern) and compiled.pattern == source else None


_TABLE_CODE_PIPES = r'(?:(\\\\)|(\\`+)|(`+)|(\\\|)|(\|))'


class TableProcessor(tables.TableProcessor):
    """The ``tables`` extension's processor, whose ``_split`` finds a row's cells by walking its
    backslashes, backticks and pipes: a row without a backslash and a backtick has no escaped pipe
    and no code span, every pipe parts two cells, and ``str.split`` finds them."""

    def _split(self, row: str) -> list[str]:
        if "`" not in row and "\\" not in row:
            return row.split("|")
        return super()._split(row)


class _Registry(util.Registry):
    """The block processors' registry, counting its changes: the order :class:`BlockParser` read
    stands until the next one (a registry that is sorted again, by a look-up, and as long as before
    may hold other processors)."""

    _loa_changes = 0

    def register(self, item, name: str, priority: float) -> None:
        self._loa_changes += 1
        super().register(item, name, priority)

    def deregister(self, name: str, strict: bool = True) -> None:
        self._loa_changes += 1
        super().deregister(name, strict)


class BlockParser(blockparser.BlockParser):
    """The stock block parser, with ``parseBlocks`` reading its processors' order once (Python-
    Markdown sorts them into a new list for every block), until the registry changes, and not
    asking a processor about a block that lacks every string of its :func:`block_needles`, whose
    test would say no (``reference``: whose run would put the block back and return False)."""

    _loa_registry = None
    _loa_changes = -1
    _loa_processors: list = []

    def _loa_order(self) -> list:
        registry = self.blockprocessors
        if type(registry) is util.Registry:  # from now on it counts its changes
            registry.__class__ = _Registry
        self._loa_processors = [(p, block_leads(p), block_needles(p), block_refinement(p))
                                for p in registry]  # iterating sorts it
        self._loa_registry, self._loa_changes = registry, getattr(registry, "_loa_changes", -1)
        return self._loa_processors

    def parseDocument(self, lines):  # noqa: N802 - Python-Markdown's name
        """Python-Markdown's own, with the text of :class:`_Lines` rather than joining them again."""
        self.root = etree.Element(self.md.doc_tag)
        self.parseChunk(self.root, _joined(lines))
        return etree.ElementTree(self.root)

    def parseBlocks(self, parent, blocks) -> None:  # noqa: N802 - Python-Markdown's name
        while blocks:
            registry = self.blockprocessors
            if registry is self._loa_registry and getattr(registry, "_loa_changes", -2) == self._loa_changes:
                processors = self._loa_processors
            else:
                processors = self._loa_order()
            last = None
            for processor, leads, needles, refine in processors:
                block = blocks[0]  # a run that returns False may have put back another block
                if leads is not None:
                    if block is not last:
                        last = block
                        lead = block[:1]
                        if lead.isdecimal():
                            lead = _DECIMAL
                    if lead not in leads:
                        continue
                if needles is not None:
                    for needle in needles:
                        if needle in block:
                            break
                    else:
                        continue
                    if refine is not None and not refine(block):
                        continue
                if processor.test(parent, block):
                    if processor.run(parent, blocks) is not False:
                        break


class _Unusual(Exception):
    """An element, tag, text or attribute :func:`to_html_string` leaves to the stock serializer."""


_TAGS: dict[str, tuple[str, str, str, bool]] = {}  # a tag: "<p", "<p>", its end tag ("" if none), raw text
_TEXT_TYPES = (str, util.AtomicString)


def to_html_string(element) -> str:
    """Python-Markdown's HTML serializer (``serializers.to_html_string``), the same string: one
    call per element rather than a queue of the pieces still to write, and the escaping function
    called only on a text that holds a character it replaces. Anything else than the plain elements
    Markdown builds (a comment, a processing instruction, a ``QName``, a ``None`` tag, an element
    subclass, a text or attribute that is not a plain string) makes it hand the whole tree to the
    stock serializer, which the tree is left unchanged for."""
    parts: list[str] = []
    try:
        _serialize(parts.append, element)
    except _Unusual:
        return serializers.to_html_string(element)
    return "".join(parts)


def _serialize(write, el) -> None:
    """Python-Markdown's ``_serialize_html`` for one element (``html`` format), recursively."""
    if el.__class__ is not Element:
        raise _Unusual
    tag = el.tag
    if tag.__class__ is not str:
        raise _Unusual
    known = _TAGS.get(tag)
    if known is None:
        known = _tag(tag)
    start, opened, end, raw = known
    items = el.items()
    if items:
        write(start)
        write(_attributes(items))
        write(">")
    else:
        write(opened)
    text = el.text
    if text:
        if text.__class__ not in _TEXT_TYPES:
            raise _Unusual
        if raw:
            write(text)
        elif "&" in text or "<" in text or ">" in text:
            write(serializers._escape_cdata(text))
        else:
            write(text)
    for child in el:
        _serialize(write, child)
    if end:
        write(end)
    tail = el.tail
    if tail:
        if tail.__class__ not in _TEXT_TYPES:
            raise _Unusual
        if tail == "\n" or not ("&" in tail or "<" in tail or ">" in tail):  # "\n": most tails
            write(tail)
        else:
            write(serializers._escape_cdata(tail))


def _tag(tag: str) -> tuple[str, str, str, bool]:
    low = tag.lower()
    known = ("<" + tag, "<" + tag + ">", "" if low in serializers.HTML_EMPTY else "</" + tag + ">",
             low in ("script", "style"))
    if len(_TAGS) < 256:  # Markdown's tags are few; a document cannot add more than it has
        _TAGS[tag] = known
    return known


def _attributes(items: list) -> str:
    """The attributes as the stock serializer writes them for ``html``: in lexical order, valueless
    ones bare, a boolean one (``checked="checked"``) by its name alone."""
    for k, v in items:
        if k.__class__ is not str or (v is not None and v.__class__ not in _TEXT_TYPES):
            raise _Unusual
    out = []
    boolean = serializers.BOOLEAN_ATTRIBUTES["html"]
    for k, v in sorted(items):
        if v is None:
            out.append(f" {k}")
        else:
            v = serializers._escape_attrib_html(v)
            if k == v and k in boolean:
                out.append(f" {v}")
            else:
                out.append(f' {k}="{v}"')
    return "".join(out)


def install(md):
    """Put this module's steps in place of ``md``'s stock ones (same names and priorities; the link
    and image patterns and the block parser keep their objects and take the subclass). A step that
    is not the stock class, or a version of Python-Markdown without the hooks, or (all but the
    inline, raw HTML and attribute lists steps) another version than :data:`SAME_CODE`'s, is left as
    it is. Returns ``md``."""
    tree = md.treeprocessors
    base = treeprocessors.InlineProcessor
    if ("inline" in tree and type(tree["inline"]) is base
            and hasattr(base, "_InlineProcessor__handleInline") and hasattr(base, "_InlineProcessor__applyPattern")):
        tree.register(InlineProcessor(md), "inline", _priority(tree, "inline"))
    pre = md.preprocessors
    if "html_block" in pre and type(pre["html_block"]) is preprocessors.HtmlBlockPreprocessor:
        pre.register(HtmlBlockPreprocessor(md), "html_block", _priority(pre, "html_block"))
    if "attr_list" in tree and type(tree["attr_list"]) is attr_list.AttrListTreeprocessor:
        tree.register(AttrListTreeprocessor(md), "attr_list", _priority(tree, "attr_list"))
    if not SAME_CODE:
        return md
    # the pattern objects keep their own state and place; only their class changes
    for name, stock, fast in (("link", inlinepatterns.LinkInlineProcessor, LinkInlineProcessor),
                              ("image_link", inlinepatterns.ImageInlineProcessor, ImageInlineProcessor)):
        if name in md.inlinePatterns and type(md.inlinePatterns[name]) is stock:
            md.inlinePatterns[name].__class__ = fast
    if "normalize_whitespace" in pre and type(pre["normalize_whitespace"]) is preprocessors.NormalizeWhitespace:
        pre.register(NormalizeWhitespace(md), "normalize_whitespace", _priority(pre, "normalize_whitespace"))
    fenced = pre["fenced_code_block"] if "fenced_code_block" in pre else None
    stock_fenced = getattr(sys.modules.get("markdown.extensions.fenced_code"), "FencedBlockPreprocessor", None)
    if (stock_fenced is not None and type(fenced) is stock_fenced
            and fenced.FENCED_BLOCK_RE.pattern.lstrip().startswith("(?P<fence>^(?:~{3,}|`{3,}))")):
        pre.register(_fenced_block_preprocessor(stock_fenced)(md, fenced.config), "fenced_code_block",
                     _priority(pre, "fenced_code_block"))
    if "prettify" in tree and type(tree["prettify"]) is treeprocessors.PrettifyTreeprocessor:
        tree.register(PrettifyTreeprocessor(md), "prettify", _priority(tree, "prettify"))
    if ("unescape" in tree and type(tree["unescape"]) is treeprocessors.UnescapeTreeprocessor
            and tree["unescape"].RE.pattern == "%s(\\d+)%s" % (util.STX, util.ETX)):
        tree.register(UnescapeTreeprocessor(md), "unescape", _priority(tree, "unescape"))
    # the processors hold the parser (its state, its parseBlocks) and call it: the same object
    # takes the subclass rather than being replaced by a new one
    if (type(md.parser) is blockparser.BlockParser and isinstance(getattr(md.parser, "blockprocessors", None), util.Registry)
            and hasattr(md.parser.blockprocessors, "_is_sorted")):
        md.parser.__class__ = BlockParser
    table = md.parser.blockprocessors["table"] if "table" in md.parser.blockprocessors else None
    if type(table) is tables.TableProcessor and table.RE_CODE_PIPES.pattern == _TABLE_CODE_PIPES:
        table.__class__ = TableProcessor
    if md.serializer is serializers.to_html_string:
        md.serializer = to_html_string
    return md


def _priority(registry, name: str) -> float:
    return next(item.priority for item in registry._priority if item.name == name)
