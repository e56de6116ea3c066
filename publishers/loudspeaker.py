"""The ward loudspeaker (registry key ``loudspeaker``): spoken bulletins for the grassroots
information system (hệ thống thông tin cơ sở). docs/loudspeaker.md is the user's guide.

Which post goes into which station's bulletin is decided by :mod:`pipeline.bulletin`; each
broadcast item (post, station, slot) reaches this publisher as a rendering whose ``post_id`` is
the item's id and whose ``extra["loudspeaker"]`` says the station, slot, priority and estimate.
Sending one item:

1. the script (``body``, made by :mod:`pipeline.spoken` through ``templates/loudspeaker/post.txt``)
   becomes audio through the configured speech engine (:mod:`publishers.speech`); if the engine
   cannot run here the item is still delivered, its audio marked missing with the reason;
2. the drop folder ``<drop_dir>/<station>/<slot>/`` gets, each file written atomically,
   ``<post id>.txt`` (script), ``.docx`` (large print, for the announcer), ``.wav`` (audio) and
   ``.json`` (the item's manifest), then the bulletin's ``bulletin.json`` and its opening and
   closing formulas (``templates/loudspeaker/opening.txt``, ``closing.txt``) are (re)written;
3. with ``push_url``, the item is POSTed as JSON to the provincial information-source system
   (schema in docs/loudspeaker.md) with an ``Idempotency-Key`` header; ``GET ?key=`` finds an item
   whose answer was lost (the same contract as the webhook channel).

Lookup (a claim lost in a crash): the push system is asked when there is one, else the item's
manifest in the drop folder holds its idempotency key.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from pipeline import bulletin
from pipeline.errors import PermanentPublishError, PublisherAuthError
from pipeline.messages import Detail, localized, text
from pipeline.models import PublishResult, Rendering
from pipeline.paths import inside, write_atomic
from publishers import http, speech
from publishers.base import ChannelHealth, OptionSpec, Publisher, http_url
from publishers.speech.fpt import URL as FPT_URL

D = bulletin.DEFAULTS


class LoudspeakerPublisher(Publisher):
    """Ward loudspeaker stations (docs/loudspeaker.md). Key ``loudspeaker``; each station a table
    under ``stations`` with its wards, slots and minutes."""

    type = "loudspeaker"
    family = "loudspeaker"
    limits = {"text": None}
    social = False
    can_lookup = True
    can_update = True
    can_retract = True
    lookup_note = "the push system by Idempotency-Key, else the item's manifest in the drop folder"
    options = (
        OptionSpec("stations", dict, required=True, doc="One table per station: `name`, `wards` (unit ids), and "
                   "optionally its own `slots` and `minutes`."),
        OptionSpec("slots", list, default=list(D["slots"]), doc="Broadcast slots, local time HH:MM, for every station without its own."),
        OptionSpec("minutes", (int, float), default=D["minutes"], doc="Longest bulletin of a slot, in minutes."),
        OptionSpec("lead", str, default=D["lead"], doc="How long before a slot its bulletin is composed and delivered."),
        OptionSpec("repeat", dict, default=D["repeat"], doc="Per post type: `{ times = 3, days = 3 }` (at most that many "
                   "broadcasts over that many days from the first); a type not named is broadcast once."),
        OptionSpec("wpm", int, default=D["wpm"], doc="Reading rate in Vietnamese syllables a minute: the estimate, and eSpeak NG's `-s` (wpm / 1.27)."),
        OptionSpec("reserve_seconds", (int, float), default=D["reserve_seconds"], doc="Seconds of each slot kept for the opening and closing formulas."),
        OptionSpec("max_wait", str, default=D["max_wait"], doc="A post that found no room in any bulletin this long after publication is no longer broadcast."),
        OptionSpec("emergency_within", str, default=D["emergency_within"], doc="An emergency post older than this is no longer broadcast at once."),
        OptionSpec("engine", str, default=D["engine"], choices=tuple(speech.known()), doc="Speech engine: `espeak-ng`, `fpt` (FPT.AI) or `none`."),
        OptionSpec("speech", dict, default={}, doc="Engine options: `voice`, `format` (wav/mp3); for `fpt` also `speed` (-3..3), "
                   "`poll_seconds`, `poll_timeout`."),
        OptionSpec("speech_key_env", str, secret_env=True, doc="`fpt`: environment variable holding the FPT.AI key."),
        OptionSpec("speech_url", str, default=FPT_URL, check=http_url, doc="`fpt`: the text-to-speech endpoint (another "
                   "address only when the server file approves it, like every endpoint a key is sent to)."),
        OptionSpec("drop_dir", str, default=D["drop_dir"], doc="Drop folder inside the content repository (relative, no `..`): one folder per station and slot."),
        OptionSpec("docx", bool, default=True, doc="Also write the script as a large-print .docx (needs python-docx)."),
        OptionSpec("push_url", str, check=http_url, doc="Optional: the provincial information-source system's endpoint (JSON push)."),
        OptionSpec("push_token_env", str, secret_env=True, doc="Environment variable holding the push system's bearer token."),
        OptionSpec("timeout", (int, float), default=30, doc="Seconds to wait for the push system."),
        OptionSpec("glossary", dict, default={}, doc="Abbreviations read in full, added to the built-in glossary (`KP = \"khu phố\"`)."),
        OptionSpec("hundred_zero", str, default=D["hundred_zero"], choices=("linh", "lẻ"), doc="105 is read `một trăm linh năm` or `lẻ năm`."),
        OptionSpec("portal_name", str, default="", doc="How a link is read: `xem chi tiết trên <portal_name>` (default: the site's name)."),
        OptionSpec("opening_template", str, default="loudspeaker/opening.txt", doc="Opening formula template."),
        OptionSpec("closing_template", str, default="loudspeaker/closing.txt", doc="Closing formula template."),
    )

    def __init__(self, name, options, **kw):
        super().__init__(name, options, **kw)
        self.root = Path(getattr(self.site, "root", None) or ".")
        self.drop = (self.root / self.opts["drop_dir"]).resolve()
        self.tz = getattr(self.site, "tz", None)
        self.settings = bulletin.settings(name, self.opts)
        self.stations = {s.id: s for s in self.settings.stations}
        # the key and the address it goes to are top-level options, so the server file's approval
        # of endpoints that receive a secret (pipeline/server.py) covers them; never the nested table
        engine_opts = {k: v for k, v in dict(self.opts["speech"]).items() if k not in ("api_key_env", "url")}
        engine_opts.update(api_key_env=self.opts["speech_key_env"], url=self.opts["speech_url"])
        self.engine = speech.get(self.opts["engine"])(engine_opts, env=self.env, wpm=self.opts["wpm"],
                                                      secret=self._register, sleep=self.sleep)
        self.push = self.opts["push_url"].rstrip("/") if self.opts["push_url"] else None
        self._session = None

    @staticmethod
    def _register(value: str) -> str:
        Publisher.protect(value)
        return value

    # -- validation and rendering hooks (called by pipeline.config and pipeline.render) -------------
    @classmethod
    def config_problems(cls, name: str, options: Mapping[str, Any], units: Mapping[str, Any], types) -> list:
        return bulletin.problems(name, options, units, types)

    @classmethod
    def template_context(cls, post, channel, cfg) -> dict:
        """What ``templates/loudspeaker/*.txt`` see besides the usual context: ``script`` (the
        post read aloud), ``seconds`` (its estimate), and the broadcast's ``station``/``slot``."""
        from pipeline import spoken

        opts = channel.options
        options = spoken_options(opts, cfg)
        script = spoken.script_of(post.body, post.title, options)
        info = dict(post.extra.get("loudspeaker") or {})
        wpm = opts.get("wpm") or D["wpm"]
        info.setdefault("priority", bulletin.priority_of(post))
        info["seconds"] = round(spoken.reading_seconds(script, words_per_minute=wpm), 1)
        return {"script": script, "seconds": info["seconds"], "loudspeaker": info}

    # -- sending -------------------------------------------------------------------------------
    def _info(self, r: Rendering) -> dict:
        info = r.extra.get("loudspeaker")
        if not info or not info.get("station"):
            raise PermanentPublishError(self.name, r.post_id, Detail("loudspeaker.not-an-item"))
        return dict(info)

    def _folder(self, station: str, r: Rendering) -> Path:
        """``<station>/<YYYYMMDDTHHMM>`` for a slot's bulletin; ``<station>/khan-<post id>`` for an
        emergency, a bulletin of its own (one ``khan`` folder for all made its bulletin.json list
        every emergency the station ever had, to be played again with the next one)."""
        parsed = bulletin.parse_item_id(r.post_id)
        if parsed and parsed[2] != bulletin.EMERGENCY:
            return inside(self.drop, station, parsed[2])
        return inside(self.drop, station, f"{bulletin.EMERGENCY}-{_safe(parsed[0] if parsed else r.post_id)}")

    def _send(self, rendering: Rendering, key: str) -> PublishResult:
        info = self._info(rendering)
        station = self.stations.get(info["station"])
        if station is None:
            raise PermanentPublishError(self.name, rendering.post_id,
                                        Detail("loudspeaker.station-gone", station=repr(info["station"])))
        self._formulas(station, info)  # a broken formula template fails the item before any file is written
        folder = self._folder(station.id, rendering)
        folder.mkdir(parents=True, exist_ok=True)
        base = inside(folder, _safe(info["post_id"]))
        write_atomic(base.with_suffix(".txt"), rendering.body + "\n")
        audio, missing = self._audio(rendering.body, base)
        docx = self._docx(rendering, base, station, info) if self.opts["docx"] else None
        manifest = self._manifest(rendering, info, station, key, audio, missing, docx)
        # the drop folder is whole before the push: a push found by lookup after a crash has its files
        write_atomic(base.with_suffix(".json"), json.dumps(manifest, ensure_ascii=False, indent=2))
        self._bulletin(folder, station, info)
        pushed = self._push(manifest, key) if self.push else None
        if pushed is not None:
            manifest["push_id"] = pushed.remote_id
            write_atomic(base.with_suffix(".json"), json.dumps(manifest, ensure_ascii=False, indent=2))
        return PublishResult(pushed.remote_id if pushed else f"{station.id}/{folder.name}/{base.name}",
                             pushed.remote_url if pushed else str(base.with_suffix(".json")),
                             {"station": station.id, "slot": manifest["slot"], "seconds": manifest["duration_seconds"]
                              or manifest["estimated_seconds"], "audio": audio is not None, "wards": list(station.wards)})

    def _audio(self, script: str, base: Path):
        try:
            return self.engine.synthesize(script, base), None
        except speech.SpeechUnavailable as exc:  # delivered without audio, the reason in the manifest
            reason = exc.args[0] if exc.args else ""
            return None, text("loudspeaker.audio-missing", "vi", reason=localized(reason, "vi"))

    def _docx(self, r: Rendering, base: Path, station, info: dict) -> str | None:
        """The script in large print (20 pt, 1.5 line spacing) for the announcer, under a small
        line that is not read: when, how urgent, about how long; ``None`` without python-docx."""
        try:
            import docx
            from docx.shared import Pt
        except ImportError:
            return None
        doc = docx.Document()
        style = doc.styles["Normal"]
        style.font.name, style.font.size = "Times New Roman", Pt(20)
        style.paragraph_format.line_spacing = 1.5
        doc.add_heading(r.title, level=1)
        note = doc.add_paragraph().add_run(_docx_note(station, info))
        note.italic, note.font.size = True, Pt(12)
        for para in r.body.split("\n\n"):
            if para.strip():
                doc.add_paragraph(para.strip())
        path = base.with_suffix(".docx")
        tmp = path.with_name(f".{path.name}.loa-tmp")
        doc.save(str(tmp))
        os.replace(tmp, path)
        return path.name

    def _manifest(self, r: Rendering, info: dict, station, key: str, audio, missing, docx) -> dict:
        slot = info.get("slot")
        return {"schema": "loa.loudspeaker.item/1", "id": r.post_id, "post_id": info["post_id"], "key": key,
                "published": info.get("published"),
                "title": r.title, "priority": info.get("priority", "normal"),
                "slot": slot.isoformat() if isinstance(slot, datetime) else None,
                "station": station.id, "station_name": station.name, "wards": list(station.wards),
                "estimated_seconds": info.get("seconds"), "duration_seconds": round(audio.seconds, 2) if audio else None,
                "audio": audio.path.name if audio else None, "audio_format": audio.format if audio else None,
                "audio_missing": missing, "script": f"{_safe(info['post_id'])}.txt",
                "docx": docx, "script_text": r.body, "link": r.link}

    def _bulletin(self, folder: Path, station, info: dict) -> None:
        """``bulletin.json``: the slot's items in order, with the opening and closing formulas."""
        items = []
        for f in sorted(folder.glob("*.json")):
            if f.name == "bulletin.json":
                continue
            try:
                items.append(json.loads(f.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
        items.sort(key=lambda m: (bulletin.RANK.get(m.get("priority"), 2), m.get("published") or "", m.get("id")))
        # the formulas speak for the whole bulletin: its most urgent item, whichever item was sent last
        top = min((m.get("priority") for m in items), key=lambda p: bulletin.RANK.get(p, 2), default=info.get("priority"))
        opening, closing = self._formulas(station, dict(info, priority=top))
        sounds = {name: self._formula(folder, name, words) for name, words in (("opening", opening), ("closing", closing))}
        total = sum((m.get("duration_seconds") or m.get("estimated_seconds") or 0) for m in items)
        write_atomic(folder / "bulletin.json", json.dumps({
            "schema": "loa.loudspeaker.bulletin/1", "station": station.id, "station_name": station.name,
            "wards": list(station.wards), "slot": items[0]["slot"] if items else None,
            "items": [{k: m.get(k) for k in ("id", "title", "priority", "estimated_seconds", "duration_seconds",
                                             "audio", "script", "docx", "audio_missing")} for m in items],
            "opening": opening, "closing": closing, "opening_audio": sounds["opening"], "closing_audio": sounds["closing"],
            "seconds": round(total, 1)}, ensure_ascii=False, indent=2))

    def _formula(self, folder: Path, name: str, words: str) -> str | None:
        """``opening.txt`` / ``closing.txt`` and their audio, made again only when the words changed;
        the audio file's name, or ``None`` without a speech engine."""
        txt = folder / f"{name}.txt"
        made = [p for p in (folder / f"{name}.wav", folder / f"{name}.mp3") if p.exists()]
        if made and txt.exists() and txt.read_text(encoding="utf-8") == words + "\n":
            return made[0].name
        write_atomic(txt, words + "\n")
        audio, _missing = self._audio(words, folder / name)
        return audio.path.name if audio else None

    def _formulas(self, station, info: dict) -> tuple[str, str]:
        import jinja2  # here: config loading imports every publisher, and most commands render nothing

        from pipeline import templating

        dirs = getattr(self.site, "templates_dirs", None) or []
        env = templating.environment(dirs, self.tz, autoescape=False)
        slot = info.get("slot")
        if isinstance(slot, str):  # from a manifest
            slot = datetime.fromisoformat(slot)
        ctx = {"station": {"id": station.id, "name": station.name}, "slot": slot, "priority": info.get("priority"),
               "site": {"name": getattr(self.site, "site_name", "")}, "org_lines": list(getattr(self.site, "org_lines", ()))}
        from pipeline import spoken

        options = spoken_options(self.opts, self.site)
        out = []
        for k in ("opening_template", "closing_template"):
            try:
                words = env.get_template(self.opts[k]).render(ctx).strip()
            except jinja2.TemplateError as exc:  # the content repository's template: the item fails, named
                raise PermanentPublishError(self.name, None, f"templates/{self.opts[k]}: {exc}"[:300],
                                            hint=Detail("loudspeaker.formula-broken.fix", template=self.opts[k],
                                                        channel=self.name, key=k)) from None
            # read aloud like the items: "lúc 17 giờ 30 phút" is "lúc mười bảy giờ ba mươi phút"
            out.append("\n".join(spoken.normalise(line, options) for line in words.splitlines()).strip())
        return out[0], out[1]

    # -- the push ------------------------------------------------------------------------------
    def session(self):
        if self._session is None:
            self._session = http.new_session()
            if self.opts["push_token_env"]:
                self._session.headers["Authorization"] = f"Bearer {self.secret('push_token_env')}"
        return self._session

    def _call(self, method: str, url: str, post_id: str | None, **kw):
        with http.translate(self.name, post_id):
            resp = self.session().request(method, url, timeout=(5.0, float(self.opts["timeout"])), **kw)
        if resp.status_code >= 400:
            cls = http.classify_status(resp.status_code)
            http.raise_for(cls, self.name, post_id, Detail("loudspeaker.push-http", status=resp.status_code),
                           vendor_message=resp.text[:300], status=resp.status_code,
                           retry_after=http.parse_retry_after(resp.headers.get("Retry-After"), self.clock()),
                           hint=Detail("loudspeaker.push-token") if cls is PublisherAuthError else None)
        return resp

    def _push(self, manifest: dict, key: str) -> PublishResult:
        body = {k: manifest[k] for k in ("id", "post_id", "title", "priority", "slot", "station", "station_name",
                                         "wards", "estimated_seconds", "duration_seconds", "audio_format", "link")}
        body["script"] = manifest["script_text"]
        data = self._call("POST", self.push, manifest["id"], json=body, headers={"Idempotency-Key": key}).json()
        return PublishResult(str(data["id"]), data.get("url"))

    def _update(self, rendering: Rendering, previous: PublishResult) -> PublishResult:
        if self.push:  # the item is sent again whole; the system keeps one per key (docs/loudspeaker.md)
            self._call("DELETE", f"{self.push}/{previous.remote_id}", rendering.post_id)
        import uuid

        return self._send(rendering, "loa-" + uuid.uuid5(uuid.NAMESPACE_URL, f"loa:{rendering.post_id}:{self.name}:"
                                                          f"{rendering.hash}").hex)

    def _retract(self, previous: PublishResult, reason: str) -> None:
        station, slot = (previous.extra or {}).get("station"), None
        parsed = None
        if self.push:
            with http.translate(self.name, None):
                resp = self.session().delete(f"{self.push}/{previous.remote_id}", timeout=(5.0, 30.0))
            if resp.status_code not in (200, 204, 404, 410):
                self._call("DELETE", f"{self.push}/{previous.remote_id}", None)
        for manifest in self.drop.glob(f"{station or '*'}/*/*.json"):
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if data.get("push_id", None) == previous.remote_id or f"{data.get('station')}/{manifest.parent.name}/{manifest.stem}" == previous.remote_id:
                parsed, slot = manifest, data.get("slot")
                break
        if parsed is not None:
            for suffix in (".txt", ".docx", ".wav", ".mp3", ".json"):
                parsed.with_suffix(suffix).unlink(missing_ok=True)
            st = self.stations.get(parsed.parent.parent.name)
            if st is not None:
                self._bulletin(parsed.parent, st, {"slot": slot})

    def _lookup(self, rendering: Rendering, key: str) -> PublishResult | None:
        if self.push:
            items = self._call("GET", self.push, rendering.post_id, params={"key": key}).json()
            return PublishResult(str(items[0]["id"]), items[0].get("url")) if items else None
        info = self._info(rendering)
        base = inside(self._folder(info["station"], rendering), _safe(info["post_id"]))
        try:
            data = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("key") != key:
            return None
        return PublishResult(f"{info['station']}/{base.parent.name}/{base.name}", str(base.with_suffix(".json")),
                             {"station": info["station"], "slot": data.get("slot"),
                              "seconds": data.get("duration_seconds") or data.get("estimated_seconds"),
                              "audio": bool(data.get("audio")), "wards": data.get("wards")})

    def _check(self) -> ChannelHealth:
        lines, ok = [], True
        try:
            self.drop.mkdir(parents=True, exist_ok=True)
            probe = self.drop / ".loa-write-test"
            probe.write_text("")
            probe.unlink()
            lines.append(Detail("loudspeaker.writes-to", path=str(self.drop)))  # Details: localized by loa doctor/channels check
        except OSError as exc:
            ok = False
            lines.append(Detail("loudspeaker.cannot-write", path=str(self.drop), reason=exc.strerror or ""))
        problem = self.engine.available()
        lines.append(Detail("loudspeaker.engine", engine=self.opts["engine"], state=problem or Detail("loudspeaker.engine-ready")))
        for station in list(self.stations.values())[:1]:  # the formulas, as a bulletin at its first slot would have them
            first = datetime.combine(datetime.now(self.tz).date(), station.slots[0], self.tz) if station.slots else None
            try:
                opening, _closing = self._formulas(station, {"slot": first, "priority": "normal"})
                lines.append(Detail("loudspeaker.opening", text=opening))
            except PermanentPublishError as exc:
                ok = False
                lines.append(Detail("loudspeaker.bad-formula", reason=exc.reason, hint=exc.hint or ""))
        if self.push:
            self._call("GET", self.push, None, params={"key": "loa-channel-check"})
            lines.append(Detail("loudspeaker.push-answers", url=self.push))
        return ChannelHealth(self.name, ok, tuple(lines))

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def spoken_options(opts: Mapping[str, Any], cfg):
    """The :class:`pipeline.spoken.SpokenOptions` of a loudspeaker channel's options."""
    from pipeline import spoken

    glossary = {**spoken.DEFAULT_GLOSSARY, **dict(opts.get("glossary") or {})}
    return spoken.SpokenOptions(glossary=MappingProxyType(glossary), hundred_zero=opts.get("hundred_zero") or "linh",
                                portal_name=opts.get("portal_name") or getattr(cfg, "site_name", ""))


def _docx_note(station, info: dict) -> str:
    """``Không đọc dòng này. Đài ...: phát lúc 17:30 ngày 10/3/2024 · mức thường · đọc khoảng 1 phút 9 giây``."""
    slot = info.get("slot")
    if isinstance(slot, str):
        slot = datetime.fromisoformat(slot)
    when = (text("loudspeaker.docx-slot", "vi", time=f"{slot:%H:%M}", date=f"{slot.day}/{slot.month}/{slot.year}")
            if isinstance(slot, datetime) else text("loudspeaker.docx-at-once", "vi"))
    seconds = round(float(info.get("seconds") or 0))
    return text("loudspeaker.docx-note", "vi", station=station.name, when=when,
                priority=text(f"loudspeaker.priority-{info.get('priority') or 'normal'}", "vi"),
                minutes=seconds // 60, seconds=seconds % 60)


def _safe(name: str) -> str:
    """A post id as a file name (ids are ``YYYYMMDD-hex`` in practice; anything else is tamed)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "_"
