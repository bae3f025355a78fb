"""Which pass of a read follows which (``reader``, "Completeness" and "Settling"): the first walk, one
backward re-read, settle rounds (``page_walk.PageWalk.settle``), each decided from what the last pass
showed. The reader runs the passes; this module only chooses the next one, or ends the read."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tap_eaccounting.list_capabilities import CapabilityBook
from tap_eaccounting.list_query import ReadStats
from tap_eaccounting.list_read import ReadContext
from tap_eaccounting.page_walk import PageWalk

# Settle rounds per read, the check of a forward walk included: a bound, so that a list written to
# faster than one response can catch still ends its read (with a warning, ``reader``).
MAX_SETTLE_ROUNDS = 4


@dataclass(frozen=True)
class Step:
    """A pass of a read: the first walk, a re-read, or a settle round down to ``below``."""

    rereading: bool = False  # backward, in replication-key order where there is one
    below: str | None = None  # a settle round: read every row stamped since this ServerTimeUtc
    # (less ``page_walk.SETTLE_MARGIN``)
    checking: bool = False  # the round checks a forward walk (else it settles a re-read or a round)


class PassPlan:
    """Chooses a read's next pass; counts settle rounds in the reader's ``ReadStats``."""

    def __init__(self, book: CapabilityBook, stats: ReadStats, logger: logging.Logger) -> None:
        self.book = book
        self.stats = stats
        self.logger = logger

    def next(self, ctx: ReadContext, step: Step, walk: PageWalk) -> Step | None:
        """What follows a pass (``None``: the read is done; see "Completeness" and "Settling")."""
        q = ctx.q
        caps = self.book.get(q.endpoint)
        ordered = bool(q.replication_key and q.order_keys and caps.orderby_usable)
        settleable = ordered and bool(walk.start)
        reconciled = ctx.distinct >= ctx.expected
        if step.below is not None:
            # A round refused down to page 1 has no ServerTimeUtc: it counts, and ends the read unsettled.
            return self.after_round(ctx, step, walk, reconciled) if ordered else None
        if reconciled and ctx.repaired:
            return None  # repaired by the keyed route, or one response
        if step.rereading and settleable and not walk.atomic:
            return self.settle(walk)
        if not step.rereading and settleable and reconciled and not ctx.churn:
            return Step(below=walk.start, checking=True)  # one request: did anything change meanwhile?
        if (reconciled and not ctx.churn) or step.rereading or not q.order_keys:
            return None
        return self.reread(ctx, "changed meanwhile" if ctx.churn else "")

    def after_round(self, ctx: ReadContext, step: Step, walk: PageWalk, reconciled: bool) -> Step | None:
        self.stats.settle_rounds += 1
        if step.checking:
            if walk.reached and not walk.stamped and reconciled:
                return None  # nothing was created or modified while the walk ran: nothing hid
            return self.reread(ctx, "was written to meanwhile")
        if walk.atomic or (walk.quiet and reconciled):
            return None  # one snapshot; or nothing hid from the earlier passes (``page_walk``)
        return self.settle(walk)

    def settle(self, walk: PageWalk) -> Step | None:
        if self.stats.settle_rounds >= MAX_SETTLE_ROUNDS or not walk.start:
            self.stats.unsettled = True
            return None
        return Step(rereading=True, below=walk.start)

    def reread(self, ctx: ReadContext, why: str) -> Step:
        self.logger.info(
            "%s: %s served %d distinct record(s) of %d counted%s; reading it again",
            ctx.q.label,
            ctx.q.path,
            ctx.distinct,
            ctx.expected,
            f", and {why}" if why else "",
        )
        return Step(rereading=True)
