"""The WordPress REST API v2 as the ``wordpress`` publisher uses it (channels.md §1, wordpress-local.md).

:class:`WordPressREST` is one site seen by one publishing user. It knows the transport and nothing
of articles:

- ``call`` sends one request in the address form the site answers to and turns every non-2xx
  answer into the right :class:`pipeline.errors.PublishError` (through :mod:`publishers.http`).
- Discovery: which address form (``/wp-json/`` or ``?rest_route=/``), whether WordPress accepts
  application passwords, and the site's zone. Credentials are only attached after the REST index
  has shown that WordPress accepts application passwords: otherwise (plain http to a site whose
  environment is not ``local``) WordPress ignores the Basic header *silently* and every write
  fails with a puzzling 401.
- Terms: a category or tag id by slug, created when missing (an existing term reused through
  ``term_exists``).

What is remembered between runs (in the engine's state store): the address form and zone for
``SITE_TTL`` seconds, and the term ids. Every pass of the daemon would otherwise ask for them
again, four requests for a pass that publishes one article. WordPress drops an unknown term id
silently, so the publisher checks the terms of every article it gets back and calls
:meth:`WordPressREST.forget_terms` when a remembered id has gone stale.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Callable, Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.errors import PermanentPublishError, PublisherAuthError, TransientPublishError
from pipeline.messages import CATALOGUE, Detail
from publishers.base import StateStore
from publishers.http import classify_status, new_session, parse_retry_after, raise_for, translate

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

REST_FORMS = ("auto", "wp-json", "rest_route")


def _doing(what: str) -> str:
    """What Loa asked WordPress to do, as a catalogue Detail when it is one of the fixed phrases
    (wordpress.do.* in messages_vendor.py) so a refusal reads whole in Vietnamese; a phrase naming a
    file, a slug or a category is already a Detail (wordpress.do.* in messages_publishers.py)."""
    if isinstance(what, Detail):
        return what
    return Detail("wordpress.do." + what) if "wordpress.do." + what in CATALOGUE else what


# 5xx codes that a retry cannot cure.
PERMANENT_5XX = {"rest_upload_unknown_error", "rest_upload_sideload_error", "rest_trash_not_supported"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# Codes WordPress (or a plugin through the rest_authentication_errors filter) gives an anonymous
# request on a site whose REST API is closed to anonymous readers.
CLOSED_REST = {"rest_login_required", "rest_not_logged_in", "rest_cannot_access", "rest_forbidden",
               "rest_authentication_required", "rest_api_disabled", "rest_disabled"}
# What the firewall or proxy in front of a site shows of itself in a refusal that is not WordPress's.
WAF_SIGNS = (("cloudflare", "Cloudflare"), ("cf-ray", "Cloudflare"), ("attention required", "Cloudflare"),
             ("sucuri", "Sucuri"), ("wordfence", "Wordfence"), ("mod_security", "ModSecurity"),
             ("modsecurity", "ModSecurity"), ("not acceptable!", "ModSecurity"), ("imunify360", "Imunify360"),
             ("akamai", "Akamai"), ("reference #", "Akamai"), ("the requested url was rejected", "F5 BIG-IP ASM"),
             ("support id", "F5 BIG-IP ASM"), ("aws waf", "AWS WAF"), ("request blocked", "a web application firewall"),
             ("access denied", "a web application firewall"))
SITE_TTL = 900.0  # seconds the discovered REST form and site zone are trusted without asking again
INDEX_FIELDS = "name,home,namespaces,authentication,timezone_string,gmt_offset"


def text_of(html: Any) -> str:
    """WordPress messages sometimes carry HTML (``<strong>Error:</strong> ...``): their plain text."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", str(html or ""))).strip()


def site_zone(index: Mapping[str, Any]) -> tzinfo:
    """The zone a REST index names (``timezone_string``), else its fixed ``gmt_offset``."""
    try:
        if index.get("timezone_string"):
            return ZoneInfo(index["timezone_string"])
    except (ZoneInfoNotFoundError, ValueError):
        pass
    return timezone(timedelta(hours=float(index.get("gmt_offset") or 0)))


class WordPressREST:
    """One WordPress site's REST API v2, as the user ``username``.

    ``channel`` names the channel in errors and state keys; ``password`` returns the application
    password (raising :class:`PublisherAuthError` when it is not set) and is asked only once the
    site is known to accept it; ``password_env`` is the variable's name, for hints. ``rest_form``
    is one of :data:`REST_FORMS`; ``timeout`` the seconds to wait for each answer. ``state`` keeps
    what is remembered between runs; ``clock`` is the publisher's.
    """

    def __init__(self, channel: str, *, base: str, username: str, password: Callable[[], str], password_env: str,
                 rest_form: str, timeout: float, state: StateStore, clock: Callable[[], datetime]):
        self.channel = channel
        self.base = base.rstrip("/")
        self.username = username
        self.rest_form = rest_form
        self.timeout = (min(5.0, timeout), timeout)
        self.session = new_session()  # connection reuse; no credentials until the site is vetted
        self.form: str | None = None
        self.zone: tzinfo | None = None
        self._password, self._password_env = password, password_env
        self._state, self._clock = state, clock
        self._terms: dict[tuple[str, str], int] = {}
        self._terms_loaded = False

    def close(self) -> None:
        self.session.close()

    # -- transport ----------------------------------------------------------------------------
    def _url(self, route: str, params: Mapping[str, Any] | None, form: str) -> tuple[str, dict]:
        if form == "wp-json":
            return f"{self.base}/wp-json{route}", dict(params or {})
        # ?rest_route= must come first; further arguments follow with '&' (dicts keep order)
        return f"{self.base}/", {"rest_route": route, **(params or {})}

    def call(self, method: str, route: str, what: str, post_id: str | None = None, *,
             params: Mapping[str, Any] | None = None, ok: tuple[int, ...] = (), **kw) -> requests.Response:
        """One REST call; a non-2xx answer becomes the right publish error (``ok`` lists accepted ones).

        ``what`` completes "WordPress refused to ..." in the messages.
        """
        form = self.ensure_site(post_id)
        url, query = self._url(route, params, form)
        started = self._clock()
        with translate(self.channel, post_id):
            resp = self.session.request(method, url, params=query, timeout=self.timeout, **kw)
        log.debug("%s: %s %s -> %s in %.0f ms", self.channel, method, route, resp.status_code,
                  (self._clock() - started).total_seconds() * 1000)
        if resp.status_code < 300 or resp.status_code in ok:
            return resp
        self.refuse(resp, what, post_id)
        raise AssertionError("unreachable")  # refuse always raises

    def json(self, resp: requests.Response, what: str, post_id: str | None) -> Any:
        """The answer's JSON; an answer that is not JSON is a permanent error (not WordPress speaking)."""
        try:
            return resp.json()
        except ValueError:
            raise PermanentPublishError(
                self.channel, post_id, Detail("wordpress.not-json", status=resp.status_code, what=_doing(what)),
                vendor_message=text_of(resp.text)[:200], status=resp.status_code,
                hint=Detail("wordpress.not-json.fix", channel=self.channel)) from None

    # -- error mapping ------------------------------------------------------------------------
    def refuse(self, resp: requests.Response, what: str, post_id: str | None) -> None:
        """Raise the publish error for the failed answer ``resp`` to an attempt to ``what``."""
        status = resp.status_code
        if status in (401, 403, 404) and self.form is not None:
            # the site may have changed (address form, application passwords turned off): the next
            # attempt discovers it again and says precisely what is wrong
            self._remember("site", {})
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            self._refuse_not_wordpress(resp, what, post_id, retry_after)
        code, message, status = _error_of(body, status)
        doing = _doing(what)
        if status in (401, 403):  # catalogue Details (messages_vendor.py): loa shows them in vi or en
            env = self._password_env or "password_env"
            hint = Detail("wordpress.silent-401" if status == 401 else "wordpress.role-hint", name=self.channel, env=env)
            if code in CLOSED_REST and code not in ("rest_forbidden", "rest_not_logged_in"):
                hint = Detail("wordpress.closed-rest", hint=hint)
            raise PublisherAuthError(self.channel, post_id,
                                     Detail("wordpress.refused-user.401" if status == 401 else "wordpress.refused-user",
                                            user=repr(self.username), what=doing, message=message, error=code),
                                     vendor_message=message, code=code, status=status,
                                     hint=hint)
        if (status == 429 or status >= 500) and code not in PERMANENT_5XX:
            raise TransientPublishError(self.channel, post_id, Detail("wordpress.failed", what=doing, message=message, error=code),
                                        vendor_message=message, code=code, status=status, retry_after=retry_after,
                                        hint=Detail("wordpress.failed.fix"))
        if code == "rest_no_route":
            raise PermanentPublishError(self.channel, post_id, Detail("wordpress.no-route", what=doing, message=message),
                                        vendor_message=message, code=code, status=status,
                                        hint=Detail("wordpress.no-route.fix", name=self.channel))
        raise PermanentPublishError(self.channel, post_id, Detail("wordpress.refused", what=doing, message=message, error=code),
                                    vendor_message=message, code=code, status=status)

    def _refuse_not_wordpress(self, resp: requests.Response, what: str, post_id: str | None,
                              retry_after: float | None) -> None:
        """A failed answer without a WordPress error: a proxy, a WAF or the web server in front of it."""
        status, snippet = resp.status_code, text_of(resp.text)[:200]
        if status in (502, 503, 504):
            raise TransientPublishError(
                self.channel, post_id, Detail("wordpress.proxy-answered", status=status, why=resp.reason, what=_doing(what)),
                vendor_message=snippet, status=status, retry_after=retry_after, hint=Detail("wordpress.proxy-answered.fix"))
        if status in (401, 403, 406, 429):
            waf = waf_of(resp)
            who = Detail("wordpress.firewall", waf=waf) if waf else Detail("wordpress.web-server")
            raise_for(TransientPublishError if status == 429 else PermanentPublishError, self.channel, post_id,
                      Detail("wordpress.not-wordpress", who=who, what=_doing(what), status=status, why=resp.reason),
                      vendor_message=snippet, status=status, retry_after=retry_after, code="not-wordpress",
                      hint=Detail("wordpress.not-wordpress.fix"))
        raise_for(classify_status(status), self.channel, post_id,
                  Detail("wordpress.server-answered", status=status, why=resp.reason, what=_doing(what)), vendor_message=snippet, status=status, retry_after=retry_after)

    # -- discovery: which URL form, are application passwords honoured, which zone ----------
    def ensure_site(self, post_id: str | None = None, *, fresh: bool = False) -> str:
        """The address form, discovering the site first if needed (``fresh``: ask the site, not the memory)."""
        if self.form is not None:
            return self.form
        if not fresh and self._recall_site():
            return self.form  # type: ignore[return-value]
        index, found = self._find_index(post_id)
        scheme = urlsplit(self.base).scheme
        if "application-passwords" not in (index.get("authentication") or {}):
            home = str(index.get("home") or "")
            if scheme == "http":  # catalogue Details (messages_vendor.py): shown in vi or en
                why = Detail("wordpress.why.plain-http")
            elif home.startswith("http://"):
                why = Detail("wordpress.why.home-http", home=home)
            else:
                why = Detail("wordpress.why.turned-off")
            raise PublisherAuthError(
                self.channel, post_id, Detail("wordpress.no-app-passwords", base=self.base, why=why),
                hint=Detail("wordpress.no-app-passwords.fix", name=self.channel))
        if scheme == "http" and urlsplit(self.base).hostname not in LOOPBACK:
            log.warning("%s: %s is plain http: the application password travels unencrypted", self.channel, self.base)
        self.session.auth = (self.username, self._password())
        self.zone = site_zone(index)
        self.form = found
        zone_name = getattr(self.zone, "key", None)
        offset = None if zone_name else self.zone.utcoffset(None).total_seconds() / 3600
        self._remember("site", {"form": found, "base": self.base, "zone": zone_name, "offset": offset,
                                "at": self._clock().timestamp()})
        return found

    def _recall_site(self) -> bool:
        """Take the form and zone the last discovery found, if it was less than ``SITE_TTL`` ago."""
        known = self._remembered("site")
        if not (known and self._clock().timestamp() - float(known.get("at", 0)) < SITE_TTL
                and known.get("form") in REST_FORMS and known.get("base") == self.base):
            return False
        try:
            zone = ZoneInfo(known["zone"]) if known.get("zone") else timezone(timedelta(hours=float(known["offset"])))
        except (ZoneInfoNotFoundError, ValueError, KeyError, TypeError):
            return False
        self.session.auth = (self.username, self._password())
        self.zone, self.form = zone, known["form"]
        return True

    def _find_index(self, post_id: str | None) -> tuple[dict, str]:
        """The REST index and the address form it answered at; a permanent error when none does."""
        forms = ("wp-json", "rest_route") if self.rest_form == "auto" else (self.rest_form,)
        tried = []
        for form in forms:
            url, query = self._url("/", {"_fields": INDEX_FIELDS}, form)
            with translate(self.channel, post_id):
                resp = self.session.get(url, params=query, timeout=self.timeout)
            tried.append(f"{url}{'?rest_route=/' if form == 'rest_route' else ''} -> HTTP {resp.status_code}")
            if resp.status_code in (502, 503, 504) or (resp.status_code >= 500 and not resp.headers.get(
                    "Content-Type", "").startswith("application/json")):
                self.refuse(resp, "answer the REST index", post_id)
            try:
                data = resp.json()
            except ValueError:
                if resp.status_code in (401, 403, 406, 429):  # a firewall's page, not "no WordPress here"
                    self.refuse(resp, "read the REST index", post_id)
                continue
            if resp.status_code in (401, 403) and isinstance(data, dict) and data.get("code") in CLOSED_REST:
                return self._closed_index(url, query, data, form, post_id)
            if resp.ok and isinstance(data, dict) and "wp/v2" in (data.get("namespaces") or ()):
                return data, form
            if isinstance(data, dict) and data.get("message"):  # e.g. a plugin that locks the REST API
                tried[-1] += f" ({text_of(data['message'])})"
        raise PermanentPublishError(
            self.channel, post_id, Detail("wordpress.no-rest", base=self.base, tried="; ".join(tried)),
            hint=Detail("wordpress.no-rest.fix", name=self.channel))

    def _closed_index(self, url: str, query: dict, refusal: dict, form: str, post_id: str | None) -> tuple[dict, str]:
        """The index of a site whose REST API refuses anonymous requests: asked again signed in,
        when the credentials cannot leak (https or loopback)."""
        parts = urlsplit(self.base)
        code, message = str(refusal.get("code")), text_of(refusal.get("message"))
        if parts.scheme != "https" and parts.hostname not in LOOPBACK:
            raise PublisherAuthError(
                self.channel, post_id, Detail("wordpress.closed-plain-http", base=self.base, message=message, error=code),
                code=code, hint=Detail("wordpress.use-https", name=self.channel))
        with translate(self.channel, post_id):
            resp = self.session.get(url, params=query, timeout=self.timeout, auth=(self.username, self._password()))
        try:
            data = resp.json()
        except ValueError:
            data = None
        if resp.ok and isinstance(data, dict) and "wp/v2" in (data.get("namespaces") or ()):
            log.info("%s: %s closes its REST API to anonymous requests (%s); signed in for the index",
                     self.channel, self.base, code)
            return data, form
        self.refuse(resp, "read the REST index (it is closed to anonymous requests)", post_id)
        raise AssertionError("unreachable")

    # -- terms ----------------------------------------------------------------------------------
    def term_id(self, taxonomy: str, slug: str, name: str, post_id: str | None) -> int:
        """Id of the ``taxonomy`` (``categories`` | ``tags``) term ``slug``, created as ``name`` when missing."""
        key = (taxonomy, slug)
        self._load_terms()
        if key in self._terms:
            return self._terms[key]
        term_id = self._find_or_create_term(taxonomy, slug, name, post_id)
        self._terms[key] = term_id
        self._save_terms()
        return term_id

    def category(self, category_id: int, what: str, post_id: str | None) -> int:
        """``category_id`` once the site has shown it exists (WordPress silently drops an unknown
        category id from a post); ``what`` completes "WordPress refused to ..."."""
        self._load_terms()
        cached = self._terms.get(("categories", f"#{category_id}"))
        if cached is None:
            resp = self.call("GET", f"/wp/v2/categories/{category_id}", what, post_id, params={"_fields": "id"})
            cached = self._terms[("categories", f"#{category_id}")] = int(self.json(resp, "find a category", post_id)["id"])
            self._save_terms()
        return cached

    def forget_terms(self) -> None:
        """Forget every remembered term id, here and in the state store (one of them went stale)."""
        self._terms.clear()
        self._remember("terms", {})

    def recheck_terms(self) -> None:
        """Ask the site again for every term id from now on, without forgetting the stored ones."""
        self._terms.clear()
        self._terms_loaded = True

    def _find_or_create_term(self, taxonomy: str, slug: str, name: str, post_id: str | None) -> int:
        noun = Detail("wordpress.noun.category" if taxonomy == "categories" else "wordpress.noun.tag")
        resp = self.call("GET", f"/wp/v2/{taxonomy}", Detail("wordpress.do.look-up-the-term", noun=noun, slug=repr(slug)),
                         post_id, params={"slug": slug, "_fields": "id,slug"})
        items = self.json(resp, Detail("wordpress.do.look-up-a-term", noun=noun), post_id)
        if items:
            return int(items[0]["id"])
        creating = Detail("wordpress.do.create-the-term", noun=noun, name=repr(name))
        resp = self.call("POST", f"/wp/v2/{taxonomy}", creating, post_id,
                         params={"_fields": "id"}, json={"name": name, "slug": slug}, ok=(400,))
        body = self.json(resp, Detail("wordpress.do.create-a-term", noun=noun), post_id)
        if resp.status_code != 400:
            return int(body["id"])
        data = body.get("data") or {}
        if body.get("code") != "term_exists" or not data.get("term_id"):
            self.refuse(resp, creating, post_id)
        # The name exists under another slug: reuse that term rather than fail.
        return int(data["term_id"])

    # -- what is remembered between runs (the state store) --------------------------------------
    def _remembered(self, what: str) -> dict:
        try:
            raw = self._state.get(f"{self.channel}:wordpress.{what}")
            data = json.loads(raw) if raw else {}
        except (ValueError, TypeError):
            return {}
        return data if isinstance(data, dict) else {}

    def _remember(self, what: str, data: dict) -> None:
        self._state.set(f"{self.channel}:wordpress.{what}", json.dumps(data, sort_keys=True))

    def _load_terms(self) -> None:
        if self._terms_loaded:
            return
        self._terms_loaded = True
        for key, term_id in self._remembered("terms").items():
            taxonomy, _, slug = key.partition("/")
            if taxonomy in ("categories", "tags") and slug and isinstance(term_id, int):
                self._terms.setdefault((taxonomy, slug), term_id)

    def _save_terms(self) -> None:
        self._remember("terms", {f"{t}/{slug}": term_id for (t, slug), term_id in sorted(self._terms.items())})


def _error_of(body: Mapping[str, Any], status: int) -> tuple[str, str, int]:
    """(code, readable message, status) of a WordPress error body.

    A permission failure inside a parameter (``status=any`` when not logged in) comes as a 400
    ``rest_invalid_param`` whose detail carries the real 401/403: that one is returned.
    """
    code = str(body.get("code"))
    message = text_of(body.get("message")) or code
    data = body.get("data") if isinstance(body.get("data"), dict) else {}
    params = data.get("params")
    if isinstance(params, dict) and params:
        message += " (" + "; ".join(f"{k}: {text_of(v)}" for k, v in params.items()) + ")"
    for sub in (data.get("details") or {}).values():
        if isinstance(sub, dict) and (sub.get("data") or {}).get("status") in (401, 403):
            status, code, message = sub["data"]["status"], str(sub.get("code")), text_of(sub.get("message"))
    return code, message, status


def waf_of(resp: requests.Response) -> str | None:
    """The firewall or proxy a refusal shows of itself (its name), else ``None``."""
    headers = {k.lower(): str(v).lower() for k, v in resp.headers.items()}
    if "cf-ray" in headers or headers.get("server") == "cloudflare":
        return "Cloudflare"
    if "x-sucuri-id" in headers or "x-sucuri-block" in headers:
        return "Sucuri"
    seen = " ".join((headers.get("server", ""), text_of(resp.text)[:2000].lower()))
    for needle, name in WAF_SIGNS:
        if needle in seen:
            return name
    return None
