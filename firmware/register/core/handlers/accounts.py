"""Accounts at the till (docs/accounts.md): gift cards sold, topped up and redeemed, loyalty points earned, redeemed
and reversed, on-account charges within the credit limit, all decided offline from what the register knows.

What it knows is `RegisterState.accounts` (`AccountsBook`): the fleet's last snapshot (a state record, replaced
whole by `AccountsReceived`) plus this register's own movements the snapshot does not include yet (read from its
receipts at start, `load`, and added at each `ReceiptCommitted`, `committed`), plus the open sale's movements
(`pending`). A gift card's number is used only to make its keyed hash here: the cart, the receipt and the journal
see its hash and last 4 digits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from pydantic import ValidationError

from firmware.clock import parse_iso_utc
from firmware.config import AccountsConfig
from firmware.contract.accounts import AccountsSnapshot
from firmware.domain import credit, giftcards, loyalty
from firmware.domain.credit import AccountKey, Movement, Through, movements_of_receipt, register_key
from firmware.domain.errors import Refused
from firmware.domain.layby import LaybyMove
from firmware.domain.lines import Line
from firmware.domain.money import MINOR_DIGITS
from firmware.domain.sale import Sale
from firmware.register.core import commands as c
from firmware.register.core.context import Context
from firmware.register.core.effects import AccountsSaved, PutState
from firmware.register.core.events import AccountsReceived
from firmware.register.core.handlers import layby
from firmware.register.core.state import AccountsBook, CardBalance, Phase, Receipt, RegisterState, currency_of, money_of
from firmware.register.core.step import Refusal, Step
from firmware.register.view import AccountBalanceView, Outcome

log = logging.getLogger("firmware.register")

ACCOUNTS = "accounts"  # state record kind
SNAPSHOT = "snapshot"  # key: the fleet's last snapshot document
LOCAL_FROM = "local_from"  # key: {"seq": n}, no receipt below n carries account movements (bounds the start scan)
GIFT_CARD_SOURCE = "gift_card"  # Line.source of a line selling or topping up a gift card


# ---- what a sale does to accounts

def live_loads(sale: Sale) -> list[tuple[int, str, str, str]]:
    """The sale's gift card loads (line_no, kind, card_hash, last4) whose lines are not voided."""
    voided = {line.line_no for line in sale.lines if line.voided}
    return [load for load in sale.gift_loads if load[0] not in voided]


def add_gift_card(sale: Sale, kind: str, card: giftcards.CardRef, amount: int, *, sku: str, tax_code: str) -> Sale:
    """The open cart with a line selling (`kind` "sell") or topping up ("top_up") `card` by `amount`, taxed at 0."""
    if sale.phase != "open" or sale.kind != "sale":
        raise Refusal("Finish the payment first, or go back to the cart.")
    if any(load[2] == card.hash for load in live_loads(sale)):
        raise Refusal(f"Gift card {card.masked} is already in this sale; void its line to change the amount.")
    line_no = len(sale.lines) + 1
    name = f"Gift card {card.masked}" + (" top-up" if kind == giftcards.TOP_UP else "")
    line = Line(line_no=line_no, sku=sku, name=name, unit_price=amount, qty=1, tax_code=tax_code,
                source=GIFT_CARD_SOURCE)
    return replace(sale, lines=sale.lines + (line,), gift_loads=sale.gift_loads + ((line_no, kind, card.hash,
                                                                                     card.last4),))


def account_entries(sale: Sale) -> list[dict[str, Any]]:
    """What `sale` does to accounts, as receipt `accounts` entries (docs/accounts.md), in order: gift cards its
    lines load, then its account tenders. A sale's gift card tender takes from the card, a refund's pays back onto
    it; a sale's on-account tender is a charge, a refund's a credit. (Points earned: `earned_entries`.)"""
    out: list[dict[str, Any]] = []
    amounts = {line.line_no: line.amount for line in sale.active_lines}
    for line_no, kind, card_hash, last4 in live_loads(sale):
        out.append(giftcards.entry(kind, giftcards.CardRef(card_hash, last4), amounts[line_no]))
    refund = sale.kind == "refund"
    for t in sale.tenders:
        if t.amount - t.change <= 0 or not t.account:
            continue
        if t.kind == "gift_card":
            card = giftcards.CardRef(t.account, (t.reference or "")[-4:])
            out.append(giftcards.entry(giftcards.TOP_UP if refund else giftcards.REDEEM, card, t.amount))
        elif t.kind == "loyalty" and not refund and t.points > 0:
            out.append(loyalty.redeem_entry(t.account, t.points, t.amount))
        elif t.kind == "on_account":
            out.append(credit.credit_entry(t.account, t.amount) if refund
                       else credit.charge_entry(t.account, t.amount, t.approved_by))
    return out


def is_gift_card_line(sale: Sale, line_no: int) -> bool:
    return any(load[0] == line_no for load in sale.gift_loads)


# ---- rules from the config

def card_rules(config: AccountsConfig) -> giftcards.GiftCardRules:
    return giftcards.GiftCardRules(config.giftcard_min_load, config.giftcard_max_balance,
                                   config.giftcard_offline_limit)


def earn_rule(config: AccountsConfig, currency: str) -> loyalty.EarnRule:
    unit = config.points_unit or 10 ** MINOR_DIGITS.get(currency.upper(), 2)
    return loyalty.EarnRule(config.points_per_unit, unit,
                            frozenset(config.points_excluded_skus) | {config.giftcard_sku},
                            frozenset(config.points_excluded_groups))


def redeem_rule(config: AccountsConfig) -> loyalty.RedeemRule:
    return loyalty.RedeemRule(config.redeem_points, config.redeem_value, config.points_offline_cap,
                              config.redeem_min_points)


def this_register(ctx: Context) -> str:
    return register_key(ctx.config.device.store, ctx.config.device.register)


# ---- the book: snapshot + this register's receipts

def book_of(doc: Mapping[str, Any] | AccountsSnapshot,
            local: tuple[tuple[AccountKey, Movement], ...] = ()) -> AccountsBook:
    """The book of a snapshot (validated here unless it is the model already), keeping those `local` movements it
    does not include."""
    snap = doc if isinstance(doc, AccountsSnapshot) else AccountsSnapshot.model_validate(doc)
    through = Through.of({register_key(t.store, t.register): t.seq for t in snap.through})
    book = AccountsBook(
        version=snap.version, issued_at=parse_iso_utc(snap.issued_at), currency=snap.currency, through=through,
        loyalty=MappingProxyType({b.customer: b.points for b in snap.loyalty}),
        gift_cards=MappingProxyType({b.card_hash: CardBalance(b.balance, b.last4, b.offline_limit, b.blocked)
                                     for b in snap.gift_cards}),
        on_account=MappingProxyType({b.customer: (b.owed, b.limit) for b in snap.on_account}),
    )
    return book.with_local(local)


def load(step: Step) -> None:
    """At start: the stored snapshot, then the movements of this register's receipts above its `through`."""
    ctx = step.ctx
    doc = step.record(ACCOUNTS, SNAPSHOT)
    book = AccountsBook()
    if doc is not None:
        try:
            book = book_of(doc)
        except (ValidationError, ValueError) as exc:
            log.error("stored accounts snapshot unreadable (%s); balances start from none", exc)
        else:
            layby.snapshot_received(step, doc, book.through)
    marker = step.record(ACCOUNTS, LOCAL_FROM)
    if marker is None:  # no receipt of this register ever carried account movements
        step.set(accounts=book)
        return
    me = this_register(ctx)
    start = max(int(marker.get("seq", 1)), book.through.seq(me) + 1, 1)
    moves: list[tuple[AccountKey, Movement]] = []
    held: list[LaybyMove] = []
    if start <= ctx.lookup.last_seq():
        for receipt in ctx.lookup.receipts_from(start):
            moves.extend(_movements(receipt, me))
            held.extend(layby.moves_of(receipt, me))
    step.set(accounts=book.with_local(moves))
    layby.load_moves(held, step)


def _movements(receipt: Receipt, me: str) -> list[tuple[AccountKey, Movement]]:
    if "accounts" not in receipt.extra:
        return []
    return movements_of_receipt({"seq": receipt.seq, "accounts": receipt.extra["accounts"]}, me)


def committed(step: Step, receipt: Receipt) -> None:
    """A receipt of this register is durable: its movements count from now on."""
    moves = _movements(receipt, this_register(step.ctx))
    if moves:
        step.set(accounts=step.state.accounts.with_local(moves))
    layby.committed(step, receipt, this_register(step.ctx))


def before_commit(step: Step, body: Mapping[str, Any]) -> None:
    """Before the first receipt with account movements is committed, note its seq (bounds the scan at start)."""
    if body.get("accounts") and step.record(ACCOUNTS, LOCAL_FROM) is None:
        seq = step.ctx.lookup.last_seq() + 1
        step.do(PutState(((ACCOUNTS, LOCAL_FROM, {"seq": seq}),), AccountsSaved(0)))


def accounts_received(step: Step, event: AccountsReceived) -> None:
    """A new snapshot from the fleet: kept (a state record) and used when newer and in this register's money."""
    payload = event.payload
    try:
        version = int(payload.get("version", 0))
    except (TypeError, ValueError):
        version = 0
    if version <= step.state.accounts.version:
        return
    try:
        built = event.snapshot if isinstance(event.snapshot, AccountsSnapshot) else None
        book = book_of(built or payload, step.state.accounts.local)
    except (ValidationError, ValueError) as exc:
        log.error("accounts snapshot version %s rejected: %s", payload.get("version"), exc)
        return
    currency = currency_of(step.state, step.ctx.config)
    if book.currency != currency:
        log.error("accounts snapshot version %s is in %s, this register sells in %s; ignored", version,
                  book.currency, currency)
        return
    step.set(accounts=book)
    layby.snapshot_received(step, payload, book.through)
    step.do(PutState(((ACCOUNTS, SNAPSHOT, dict(payload)),), AccountsSaved(version)))
    log.info("accounts snapshot version %s in use", version)


def saved(step: Step, then: AccountsSaved, ok: bool, reason: str) -> None:
    if not ok:  # the book in memory is right; after a restart the older snapshot is used until the next one
        log.warning("accounts record (version %s) not saved: %s", then.version, reason)


# ---- positions

def pending(sale: Sale | None) -> list[tuple[AccountKey, Movement]]:
    """The open sale's account movements (in no snapshot, committed nowhere yet)."""
    if sale is None:
        return []
    doc = {"seq": credit.PENDING_SEQ, "accounts": account_entries(sale)}
    return movements_of_receipt(doc, credit.PENDING_REGISTER)


def position(state: RegisterState, key: AccountKey) -> credit.Position:
    return state.accounts.position(key, pending(state.sale))


def _key(ctx: Context) -> bytes:
    key = ctx.config.accounts.giftcard_key
    if key is None:
        raise Refusal("Gift cards are not set up on this register (no gift-card key: [accounts] "
                      "giftcard_key_file); call the technician.")
    return key


def _card(ctx: Context, number: str) -> giftcards.CardRef:
    return giftcards.card_ref(number, _key(ctx))


# ---- gift cards

def _cart(step: Step) -> Sale:
    from firmware.register.core.handlers.sale import cart

    sale = cart(step)
    if step.state.phase != Phase.SELL:
        raise Refusal("Finish the payment first, or go back to the cart.")
    return sale


def _gift_tax_code(step: Step) -> str:
    config = step.ctx.config
    code = config.accounts.giftcard_tax_code
    rates = step.state.catalog.tax_rates or config.shop.tax_rates
    rate = rates.get(code)
    if rate is not None and float(rate) != 0:
        raise Refusal(f"The gift card tax code {code} is taxed in this catalog; a gift card cannot be sold. "
                      "Ask the manager.")
    return code


def _load(step: Step, number: str, amount: int, kind: str) -> Outcome:
    sale = _cart(step)
    card = _card(step.ctx, number)
    config = step.ctx.config.accounts
    money = money_of(step.state, step.ctx.config)
    pos = position(step.state, AccountKey("gift_card", card.hash))
    snap = step.state.accounts.gift_cards.get(card.hash)
    if kind == giftcards.SELL:
        after = giftcards.check_sell(pos, amount, card_rules(config), known=snap is not None, money=money)
    else:
        after = giftcards.check_top_up(pos, amount, card_rules(config), known=snap is not None,
                                       blocked=snap is not None and snap.blocked, money=money)
    new = add_gift_card(sale, kind, card, amount, sku=config.giftcard_sku, tax_code=_gift_tax_code(step))
    step.set(sale=new, flash_line=new.lines[-1].line_no)
    what = "Gift card" if kind == giftcards.SELL else "Top-up of gift card"
    return Outcome(True, f"{what} {card.masked}: {money(amount)} added (balance after: {money(after)})")


def sell_gift_card(step: Step, cmd: c.SellGiftCard) -> Outcome:
    return _load(step, cmd.card_number, cmd.amount, giftcards.SELL)


def top_up_gift_card(step: Step, cmd: c.TopUpGiftCard) -> Outcome:
    return _load(step, cmd.card_number, cmd.amount, giftcards.TOP_UP)


def _tendering(step: Step) -> Sale:
    from firmware.register.core.handlers.sale import _show

    if step.state.phase == Phase.SELL and step.state.sale is not None:
        _show(step, step.state.sale.begin_tender())
        step.set(phase=Phase.TENDER)
    sale = step.state.sale
    if step.state.phase != Phase.TENDER or sale is None or sale.phase != "tendering":
        raise Refusal("Nothing to pay for.")
    if sale.kind != "sale":
        raise Refusal("A refund is paid back from its own screen.")
    return sale


def redeem_gift_card(step: Step, cmd: c.RedeemGiftCard) -> Outcome:
    """Pay with a gift card, within its balance shown and this register's offline limit for it."""
    sale = _tendering(step)
    card = _card(step.ctx, cmd.card_number)
    money = money_of(step.state, step.ctx.config)
    rules = card_rules(step.ctx.config.accounts)
    snap = step.state.accounts.gift_cards.get(card.hash)
    pos = position(step.state, AccountKey("gift_card", card.hash))
    limit = snap.offline_limit if snap is not None else None
    blocked = snap is not None and snap.blocked
    due = sale.remaining()
    amount = cmd.amount
    if amount is None:  # as much as the card can pay of what is due
        left = max(0, (rules.offline_limit if limit is None else limit) - pos.outflow(giftcards.REDEEM))
        amount = min(due, max(pos.balance, 0), left)
        if amount <= 0 and not blocked:
            if pos.balance <= 0:
                raise Refusal(f"Gift card {card.masked} holds {money(max(pos.balance, 0))}; it cannot pay.")
            raise Refusal(f"Until the fleet confirms, no more of gift card {card.masked} can be spent on this "
                          "register.")
        amount = max(amount, 1)
    after = giftcards.check_redeem(pos, amount, rules, money=money, blocked=blocked, card_limit=limit, due=due)
    return _paid_by(step, sale.add_tender("gift_card", amount, reference=card.masked, account=card.hash),
                    f"Gift card {card.masked}: {money(amount)} taken, {money(after)} left on the card")


def redeem_points(step: Step, cmd: c.RedeemPoints) -> Outcome:
    """Pay with the customer's points, within the balance shown and the per-customer offline cap."""
    sale = _tendering(step)
    customer = sale.customer_code
    if not customer:
        raise Refusal("Points need a customer: enter or scan the customer first.")
    money = money_of(step.state, step.ctx.config)
    rule = redeem_rule(step.ctx.config.accounts)
    pos = position(step.state, AccountKey("loyalty", customer))
    due = sale.remaining()
    points = cmd.points
    if points is None:  # as many as pay what is due, within the balance and the cap
        points = min(max(pos.balance, 0), loyalty.points_for_amount(rule, due))
        if rule.offline_cap is not None:
            points = min(points, max(0, rule.offline_cap - pos.outflow(loyalty.REDEEM)))
        if points <= 0:
            raise Refusal(f"The customer has {max(pos.balance, 0)} points; none can pay now.")
    value = loyalty.check_redeem(pos, points, rule, due=due, money=money)
    return _paid_by(step, sale.add_tender("loyalty", value, reference=f"{points} points", account=customer,
                                          points=points),
                    f"{points} points pay {money(value)}")


def _paid_by(step: Step, sale: Sale, said: str) -> Outcome:
    from firmware.register.core.handlers.commit import commit
    from firmware.register.core.handlers.sale import _show

    _show(step, sale)
    money = money_of(step.state, step.ctx.config)
    if sale.phase == "paid":
        from firmware.register.core.effects import Purpose

        commit(step, sale, Purpose.SALE)
        return Outcome(True, f"{said}. Saving the sale")
    return Outcome(True, f"{said}; {money(sale.totals().due)} still to pay")


def check_on_account(step: Step, sale: Sale, code: str | None, amount: int | None,
                     approved_by: str | None) -> tuple[bool, str | None]:
    """Check an on-account charge against the customer's credit limit from the snapshot (snapshot + this
    register's charges since + this sale's); NeedsApproval (a refusal naming the manager) over it unless
    `approved_by`. Returns (whether this rule applied, the approval to record: only one that was needed); without
    any snapshot yet the rule does not apply and the shop's offline limit does, as before accounts."""
    book = step.state.accounts
    if book.version == 0:
        return False, approved_by
    customer = (code or "").strip() or sale.customer_code
    if not customer:
        raise Refusal("On-account needs a customer code: enter or scan it first.")
    charge = sale.remaining() if amount is None else amount
    if charge <= 0:
        return True, None  # add_tender says what is wrong with it
    owed = position(step.state, AccountKey("on_account", customer))
    limit = book.on_account.get(customer, (0, None))[1]
    money = money_of(step.state, step.ctx.config)
    try:
        credit.check_charge(owed, charge, limit=limit, money=money)
    except credit.NeedsApproval:
        if approved_by is None:
            raise
        return True, approved_by
    return True, None


# ---- sealing a receipt: points earned, points reversed

def earned_entries(state: RegisterState, ctx: Context, sale: Sale) -> list[dict[str, Any]]:
    """The `loyalty_earn` entry of a paid sale with a customer (none when it earns no points)."""
    if sale.kind != "sale" or not sale.customer_code:
        return []
    rule = earn_rule(ctx.config.accounts, currency_of(state, ctx.config))
    rule = replace(rule, excluded_skus=rule.excluded_skus | {ctx.config.layby.sku})  # money held: docs/layby.md
    lines = [loyalty.EarnLine(line.sku if line.source != GIFT_CARD_SOURCE else ctx.config.accounts.giftcard_sku,
                              line.amount) for line in sale.receipt_lines()]
    tenders = [(t.kind, t.amount - t.change) for t in sale.tenders]
    points = loyalty.points_earned(rule, lines, tenders)
    return [loyalty.earn_entry(sale.customer_code, points)] if points > 0 else []


def reversal_entries(original: Receipt, prior: list[Receipt], refunding: int) -> list[dict[str, Any]]:
    """The `loyalty_reverse` entry of a refund of `refunding` money of `original` (after the `prior` refunds)."""
    earns = [e for e in original.extra.get("accounts") or []
             if isinstance(e, Mapping) and e.get("type") == "loyalty_earn"]
    if not earns:
        return []
    before = sum(r.totals.total for r in prior)
    out = []
    for earn in earns:
        points = loyalty.points_to_reverse(int(earn["points"]), original.totals.total, before, refunding)
        if points > 0:
            out.append(loyalty.reverse_entry(str(earn["customer"]), points, original.receipt_id))
    return out


def refund_card(original: Receipt) -> giftcards.CardRef | None:
    """The gift card that paid `original` (the first, when several did): a refund pays back onto it."""
    for entry in original.extra.get("accounts") or []:
        if isinstance(entry, Mapping) and entry.get("type") == "giftcard_redeem":
            return giftcards.CardRef(str(entry["card_hash"]), str(entry["last4"]))
    return None


# ---- read models

def _age(book: AccountsBook, now: datetime) -> str:
    return giftcards.age_text(book.issued_at, now)


def gift_card_balance(state: RegisterState, ctx: Context, number: str) -> AccountBalanceView:
    """The balance check: snapshot + this register's movements since (+ the open sale's), and how old it is."""
    try:
        card = _card(ctx, number)
    except Refused as exc:
        return AccountBalanceView(False, str(exc))
    pos = position(state, AccountKey("gift_card", card.hash))
    book = state.accounts
    text = giftcards.balance_text(card, pos, issued_at=book.issued_at, now=ctx.now,
                                  money=money_of(state, ctx.config))
    snap = book.gift_cards.get(card.hash)
    if snap is not None and snap.blocked:
        text += "; blocked: it cannot pay"
    elif snap is None and not pos.movements:
        text += "; not active (not sold yet, or sold on another register since the fleet update)"
    return AccountBalanceView(True, text, card.masked, pos.balance, book.issued_at, len(pos.unreconciled))


def points_balance(state: RegisterState, ctx: Context, customer: str) -> AccountBalanceView:
    code = customer.strip()
    if not code:
        return AccountBalanceView(False, "Enter or scan the customer first.")
    pos = position(state, AccountKey("loyalty", code))
    local = len(pos.unreconciled)
    since = f", plus {local} change{'s' if local != 1 else ''} on this register since" if local else ""
    book = state.accounts
    when = "no fleet update yet" if book.issued_at is None else f"fleet update {_age(book, ctx.now)}"
    return AccountBalanceView(True, f"Customer {code}: {pos.balance} points ({when}{since})", code, pos.balance,
                              book.issued_at, local)
