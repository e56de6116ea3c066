"""The whole SQL ledger, assembled from its method groups; backends subclass :class:`SqlLedger`."""

from __future__ import annotations

from pipeline.ledger._accounts import Accounts
from pipeline.ledger._checkcache import CheckCache
from pipeline.ledger._claims import Claims
from pipeline.ledger._events import Events
from pipeline.ledger._kv import KeyValue
from pipeline.ledger._pauses import Pauses
from pipeline.ledger._rows import Publications
from pipeline.ledger._spacing import Spacing


class SqlLedger(Publications, Claims, Events, KeyValue, Pauses, Spacing, Accounts, CheckCache):
    """The full :class:`~pipeline.ledger.base.Ledger` over SQL. A backend subclass supplies the
    connection (:meth:`SqlCore._run`, ``_table_exists``, ``query``, ``daemon_lock``, ``close``) and
    the dialect's switches (``_for_update``, ``_differs``, ``_same``, ``_text_times``)."""
