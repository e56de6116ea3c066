"""The claim protocol shared by both SQL backends: the row state machine behind exactly-once.

    pending/retrying/failed/published/... --claim--> claimed --record_success--> published|retracted
                                                     claimed --record_failure--> retrying|failed
                                                     claimed --release-------> (the state before)
                                                     claimed --mark_in_doubt-> in_doubt --resolve--> published|pending

Only the claim's owner may leave ``claimed`` (``mark_in_doubt`` also once the lease expired), so a
worker that lost its claim can never overwrite the result of the worker that took it over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Mapping, Sequence

from pipeline.errors import LedgerError
from pipeline.ledger._sql import SELECT_PUBLICATIONS, SqlCore, Tx, aware, check_meta, check_states
from pipeline.ledger.base import ACTIONS, ERROR_KINDS, ClaimLost, Publication
from pipeline.messages import Detail

_SUCCESS_EVENT = {"create": "success", "update": "update", "retract": "retract"}


class Claims(SqlCore):
    """``claim``, ``record_success``, ``record_failure``, ``release``, ``mark_in_doubt``, ``resolve``,
    ``retry`` and ``skip``: every change of a row's state."""

    def claim(self, post_id, channel, *, owner, action, version, lease, now, allowed_states, meta=None,
              send: Mapping | None = None):
        return self._run(self._claiming(post_id, channel, owner=owner, action=action, version=version, lease=lease,
                                        now=now, allowed_states=allowed_states, meta=meta, send=send), write=True)

    def _claiming(self, post_id, channel, *, owner, action, version, lease, now, allowed_states, meta=None,
                  send: Mapping | None = None) -> Callable[[Tx], Publication | None]:
        """The transaction's body of :meth:`claim`, its arguments checked."""
        now, wanted = aware(now), check_meta(meta)
        if action not in ACTIONS:
            raise ValueError(f"claim action {action!r}: expected one of {list(ACTIONS)}")
        allowed = set(allowed_states)
        check_states(allowed)
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise ValueError(f"claim lease must be a positive timedelta, got {lease!r}")

        def body(tx: Tx) -> Publication | None:
            row = self._locked(tx, post_id, channel, "claim it")
            if row.state not in allowed or (row.lease_until is not None and row.lease_until >= now):
                return None
            attempt = row.attempts + 1 if row.pending_version == version else 1
            detail = {"action": action, "from": row.state, "attempt": attempt,
                      "lease_until": now + lease}
            if row.state == "claimed":
                detail["took_over_from"] = row.claim_owner
            claimed = self._update(tx, row, {
                "state": "claimed", "claim_owner": owner, "lease_until": now + lease,
                "action": action, "pending_version": version, "attempts": attempt,
                # a takeover keeps the state the first claim came from, for release()
                "claimed_from": row.claimed_from if row.state == "claimed" else row.state,
                **wanted}, now)
            self._event(tx, "claim", post_id=post_id, channel=channel, actor=owner, version=version,
                        detail=detail, now=now)
            if send is not None:  # the engine calls the vendor next: one commit instead of two
                self._event(tx, "send", post_id=post_id, channel=channel, actor=owner, version=version,
                            detail=dict(send), now=now)
            return claimed
        return body

    def _sent(self, tx: Tx, row: Publication, owner: str, send: Mapping | None, now) -> None:
        """The ``send`` event of a request that left, written with its outcome."""
        if send is not None:
            self._event(tx, "send", post_id=row.post_id, channel=row.channel, actor=owner,
                        version=row.pending_version, detail=dict(send), now=now)

    def renew(self, post_id, channel, *, owner, lease, now):
        now = aware(now)
        if not isinstance(lease, timedelta) or lease <= timedelta(0):
            raise ValueError(f"renew lease must be a positive timedelta, got {lease!r}")

        def body(tx: Tx) -> bool:
            row = self._locked(tx, post_id, channel, "renew its claim")
            if row.state != "claimed" or row.claim_owner != owner:
                return False
            if row.lease_until is None or row.lease_until < now + lease:
                self._update(tx, row, {"lease_until": now + lease}, now)
            return True
        return self._run(body, write=True)

    def record_success(self, post_id, channel, *, owner, remote_id, remote_url, version, extra, now, send=None):
        return self._run(self._succeeding(post_id, channel, owner=owner, remote_id=remote_id, remote_url=remote_url,
                                          version=version, extra=extra, now=now, send=send), write=True)

    def record_success_and_claim(self, post_id, channel, *, owner, remote_id, remote_url, version, extra, now,
                                 send=None, claim: Mapping[str, Any]):
        success = dict(post_id=post_id, channel=channel, owner=owner, remote_id=remote_id, remote_url=remote_url,
                       version=version, extra=extra, now=now, send=send)
        (done,), (claimed,) = self.record_successes_and_claims([success], [{"owner": owner, **claim}])
        return done, claimed

    def record_successes_and_claims(self, successes: Sequence[Mapping[str, Any]],
                                    claims: Sequence[Mapping[str, Any]]):
        # every body is built (and its arguments checked) before the transaction starts
        bodies = [self._succeeding(**s) for s in successes]
        claiming = [self._claiming(**c) for c in claims]
        return self._run(lambda tx: ([b(tx) for b in bodies], [c(tx) for c in claiming]), write=True)

    def _succeeding(self, post_id, channel, *, owner, remote_id, remote_url, version, extra, now,
                    send=None) -> Callable[[Tx], Publication]:
        """The transaction's body of :meth:`record_success`."""
        now = aware(now)

        def body(tx: Tx) -> Publication:
            row = self._owned(tx, post_id, channel, owner,
                              f"its result (remote id {remote_id}) was not recorded")
            self._sent(tx, row, owner, send, now)
            action = row.action or "create"
            changes: dict[str, Any] = {
                "version": version if version is not None else row.pending_version,
                "claim_owner": None, "lease_until": None, "claimed_from": None,
                "pending_version": None, "attempts": 0, "next_attempt_at": None,
                "last_error": None, "error_kind": None}
            if remote_id is not None:
                changes["remote_id"] = remote_id
            if remote_url is not None:
                changes["remote_url"] = remote_url
            if extra is not None:
                changes["extra"] = dict(extra)
            if action == "retract":
                changes.update(state="retracted", retracted_at=now)
            else:
                changes.update(state="published", published_version_at=now, retracted_at=None)
                if row.first_published_at is None:
                    changes["first_published_at"] = now
                if extra and extra.get("correction") and row.corrected_at is None:
                    changes["corrected_at"] = now
            done = self._update(tx, row, changes, now)
            self._event(tx, _SUCCESS_EVENT[action], post_id=post_id, channel=channel, actor=owner,
                        version=done.version, now=now,
                        detail={"action": action, "remote_id": done.remote_id,
                                "remote_url": done.remote_url, "attempts": row.attempts})
            return done
        return body

    def record_failure(self, post_id, channel, *, owner, kind, message, next_attempt_at, now, send=None):
        now = aware(now)
        if kind not in ERROR_KINDS:
            raise ValueError(f"failure kind {kind!r}: expected one of {list(ERROR_KINDS)}")
        if next_attempt_at is not None:
            aware(next_attempt_at, "next_attempt_at")
        retrying = kind == "transient"

        def body(tx: Tx) -> Publication:
            row = self._owned(tx, post_id, channel, owner, "its failure was not recorded")
            self._sent(tx, row, owner, send, now)
            done = self._update(tx, row, {
                "state": "retrying" if retrying else "failed",
                "next_attempt_at": (next_attempt_at or now) if retrying else None,
                "last_error": message, "error_kind": kind,
                "claim_owner": None, "lease_until": None, "claimed_from": None}, now)
            self._event(tx, "failure", post_id=post_id, channel=channel, actor=owner,
                        version=row.pending_version, now=now,
                        detail={"kind": kind, "message": message, "action": row.action,
                                "attempt": row.attempts, "next_attempt_at": done.next_attempt_at})
            return done
        return self._run(body, write=True)

    def release(self, post_id, channel, *, owner, now, next_attempt_at=None, reason=None):
        now = aware(now)
        if next_attempt_at is not None:
            aware(next_attempt_at, "next_attempt_at")

        def body(tx: Tx) -> Publication:
            row = self._owned(tx, post_id, channel, owner, "nothing was released")
            back = row.claimed_from or "pending"
            changes: dict[str, Any] = {"state": back, "claim_owner": None, "lease_until": None,
                                       "claimed_from": None, "attempts": max(row.attempts - 1, 0)}
            if next_attempt_at is not None:  # a wait (a rate limit): shown as retrying, no attempt spent
                changes.update(state="retrying", next_attempt_at=next_attempt_at, last_error=reason,
                               error_kind="transient")
            done = self._update(tx, row, changes, now)
            detail: dict[str, Any] = {"to": done.state, "action": row.action}
            if reason is not None:
                detail["reason"] = reason
            if next_attempt_at is not None:
                detail["next_attempt_at"] = next_attempt_at
            self._event(tx, "release", post_id=post_id, channel=channel, actor=owner,
                        version=row.pending_version, detail=detail, now=now)
            return done
        return self._run(body, write=True)

    def mark_in_doubt(self, post_id, channel, *, owner, reason, now, send=None):
        now = aware(now)

        def body(tx: Tx) -> Publication:
            row = self._locked(tx, post_id, channel, "mark it in doubt")
            if row.state != "claimed" or (row.claim_owner != owner and row.lease_live(now)):
                held = f", held by {row.claim_owner} until {row.lease_until}" if row.claim_owner else ""
                raise ClaimLost(f"{post_id} on {channel} cannot be marked in doubt by {owner} "
                                f"(state {row.state}{held})")
            if row.claim_owner == owner:
                self._sent(tx, row, owner, send, now)
            done = self._update(tx, row, {
                "state": "in_doubt", "last_error": reason, "error_kind": None,
                "claim_owner": None, "lease_until": None, "claimed_from": None}, now)
            self._event(tx, "in_doubt", post_id=post_id, channel=channel, actor=owner,
                        version=row.pending_version, now=now,
                        detail={"reason": reason, "action": row.action, "claim_owner": row.claim_owner})
            return done
        return self._run(body, write=True)

    def resolve(self, post_id, channel, *, published_url, remote_id=None, actor, now):
        now = aware(now)

        def body(tx: Tx) -> Publication:
            row = self._locked(tx, post_id, channel, "resolve it")
            if row.state != "in_doubt":
                raise LedgerError(Detail("resolve.not-in-doubt", post=post_id, channel=channel, state=row.state))
            changes: dict[str, Any] = {"attempts": 0, "last_error": None, "error_kind": None,
                                       "next_attempt_at": None}
            if published_url is None:
                changes.update(state="pending")
            else:
                changes.update(version=row.pending_version, pending_version=None,
                               remote_url=published_url, remote_id=remote_id or row.remote_id)
                if row.action == "retract":
                    changes.update(state="retracted", retracted_at=now)
                else:
                    changes.update(state="published", published_version_at=now)
                    if row.first_published_at is None:
                        changes["first_published_at"] = now
            done = self._update(tx, row, changes, now)
            self._event(tx, "resolve", post_id=post_id, channel=channel, actor=actor,
                        version=row.pending_version, now=now,
                        detail={"published_url": published_url, "remote_id": remote_id,
                                "to": done.state, "action": row.action})
            return done
        return self._run(body, write=True)

    def retry(self, post_id=None, channel=None, *, actor, now):
        now = aware(now)
        where, params = ["state IN ('failed', 'retrying')"], []
        for column, value in (("post_id", post_id), ("channel", channel)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        cond = " WHERE " + " AND ".join(where)

        def body(tx: Tx) -> int:
            found = self._publications(tx.rows(SELECT_PUBLICATIONS + cond + " ORDER BY post_id, channel"
                                               + self._for_update, params))
            for row in found:
                self._update(tx, row, {"state": "pending", "attempts": 0, "next_attempt_at": None,
                                       "last_error": None, "error_kind": None}, now)
                self._event(tx, "retry", post_id=row.post_id, channel=row.channel, actor=actor,
                            version=row.pending_version, now=now,
                            detail={"from": row.state, "last_error": row.last_error})
            return len(found)
        return self._run(body, write=True)

    def skip(self, post_id, channel, *, reason, now, meta=None, actor="planner"):
        now, wanted = aware(now), check_meta(meta)

        def body(tx: Tx) -> Publication:
            row = self._locked(tx, post_id, channel, "skip it")
            if row.state == "claimed":  # live, or expired and not yet reconciled: it may have sent
                raise LedgerError(f"{post_id} on {channel} is claimed by {row.claim_owner} until "
                                  f"{row.lease_until}; not skipped")
            if row.state == "skipped" and row.last_error == reason and all(
                    getattr(row, k) == v for k, v in wanted.items()):
                return row  # the planner repeats its verdict every tick: one event is enough
            done = self._update(tx, row, {"state": "skipped", "last_error": reason, "error_kind": None,
                                          "next_attempt_at": None, "claim_owner": None,
                                          "lease_until": None, "claimed_from": None, **wanted}, now)
            if (row.state, row.last_error) != ("skipped", reason):
                self._event(tx, "skip", post_id=post_id, channel=channel, actor=actor,
                            version=row.pending_version, detail={"reason": reason, "from": row.state},
                            now=now)
            return done
        return self._run(body, write=True)
