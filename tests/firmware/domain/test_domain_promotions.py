"""Examples of every promotion kind, exclusivity and stacking, time windows, codes, refunds and refusals."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

import firmware.domain.promotion_rules as engine
from firmware.domain.errors import DomainError, PayloadInvalid
from firmware.domain.promotion_rules import Promotion, Tier, Window, promotion_from_dict
from firmware.domain.promotions import PromoLine, PromotionBook, price_cart, refund_share

SHOP = timezone(timedelta(hours=1))
WEDNESDAY_1730 = datetime(2026, 12, 2, 17, 30, tzinfo=SHOP)
GROUPS = {"COLA": ["drinks"], "BEER": ["drinks", "alcohol"], "WINE": ["alcohol"], "WATER": ["drinks"],
          "APPLE": ["fruit"]}


def P(pid, kind, *, skus=(), groups=(), **kw):  # noqa: N802 - reads like a rule
    return Promotion(pid, kw.pop("name", pid.title()), kind, frozenset(skus), frozenset(groups), **kw)


def priced(lines, promos, now=WEDNESDAY_1730, trusted=True, **kw):
    return price_cart(lines, promos, sku_groups=GROUPS, now=now, clock_trusted=trusted, **kw)


def savings(result):
    return {a.promotion_id: a.saving for a in result.applied}


# ---- multi-buy and mix and match ------------------------------------------------------------------------------

def test_three_for_two_on_one_sku_across_two_lines():
    deal = P("p1", "multi_buy", skus=["PEN"], buy=3, pay=2, name="Pens 3 for 2")
    result = priced([PromoLine(1, "PEN", 129, 4), PromoLine(2, "PEN", 129, 3)], [deal])
    assert savings(result) == {"p1": 2 * 129}  # 7 pens: two bundles, one pen at full price
    applied = result.applied[0]
    assert applied.name == "Pens 3 for 2" and applied.lines == ((1, 172), (2, 86))
    assert result.total == 7 * 129 - 258


def test_n_for_a_fixed_price_only_when_it_saves():
    deal = P("p1", "multi_buy", skus=["COLA"], buy=3, price=500)
    assert savings(priced([PromoLine(1, "COLA", 199, 3)], [deal])) == {"p1": 97}
    assert savings(priced([PromoLine(1, "COLA", 150, 3)], [deal])) == {}  # 3 x 1.50 is less than 5.00
    assert savings(priced([PromoLine(1, "COLA", 199, 2)], [deal])) == {}  # not enough units


def test_mix_and_match_gives_the_customer_the_cheapest_of_each_bundle_free():
    deal = P("p1", "multi_buy", groups=["drinks"], buy=3, pay=2, name="Any 3 drinks for 2")
    lines = [PromoLine(n, sku, price, 1) for n, (sku, price) in enumerate(
        [("COLA", 300), ("BEER", 250), ("WATER", 200), ("COLA", 150), ("BEER", 100), ("WATER", 50)], 1)]
    lines = [PromoLine(ln.line_no, ln.sku, ln.unit_price, 1) for ln in lines]
    result = priced(lines, [deal])
    assert result.saving == 200 + 50  # bundles (3.00, 2.50, 2.00) and (1.50, 1.00, 0.50)
    # the saving is spread over the units that formed each bundle, by price
    assert dict(result.applied[0].lines) == {1: 80, 2: 67, 3: 53, 4: 25, 5: 17, 6: 8}


def test_mix_and_match_for_a_fixed_price_uses_the_dearest_units():
    deal = P("p1", "multi_buy", groups=["drinks"], buy=2, price=300)
    result = priced([PromoLine(1, "COLA", 199, 1), PromoLine(2, "BEER", 249, 2), PromoLine(3, "WINE", 999, 1)], [deal])
    assert savings(result) == {"p1": 2 * 249 - 300}  # wine is not a drink; beer + beer beats beer + cola
    assert result.line(1).saving == 0


def test_multi_buys_never_take_weighed_items():
    deal = P("p1", "multi_buy", skus=["APPLE"], buy=2, pay=1)
    assert priced([PromoLine(1, "APPLE", 299, Decimal("2.000"))], [deal]).saving == 0


# ---- percent and amount off -----------------------------------------------------------------------------------

def test_percent_and_amount_off_an_item_a_group_and_the_cart():
    lines = [PromoLine(1, "COLA", 199, 2), PromoLine(2, "WINE", 999, 1), PromoLine(3, "APPLE", 299, Decimal("0.500"))]
    assert savings(priced(lines, [P("p1", "discount", skus=["COLA"], percent=Decimal(10))])) == {"p1": 2 * 20}
    assert savings(priced(lines, [P("p1", "discount", skus=["COLA"], amount=50)])) == {"p1": 100}  # per unit
    assert savings(priced(lines, [P("p1", "discount", skus=["COLA"], amount=500)])) == {"p1": 398}  # capped
    assert savings(priced(lines, [P("p1", "discount", groups=["alcohol"], percent=Decimal(25))])) == {"p1": 250}
    assert savings(priced(lines, [P("p1", "discount", groups=["fruit"], amount=100)])) == {"p1": 50}  # per kg
    cart = priced(lines, [P("p1", "discount", percent=Decimal(10))])
    assert savings(cart) == {"p1": 155} and sum(s for _, s in cart.applied[0].lines) == 155  # 10% of 15.47
    assert priced(lines, [P("p1", "discount", amount=10_000)]).total == 0  # never below zero


def test_spend_and_save_on_the_cart_and_on_a_group():
    lines = [PromoLine(1, "WINE", 999, 2), PromoLine(2, "COLA", 199, 1)]
    cart = P("p1", "spend_save", spend=2000, amount=300)
    assert savings(priced(lines, [cart])) == {"p1": 300}
    assert savings(priced(lines[:1], [cart])) == {}  # 19.98 does not reach 20.00
    wine = P("p2", "spend_save", groups=["alcohol"], spend=1500, percent=Decimal(10))
    result = priced(lines, [wine])
    assert savings(result) == {"p2": 200} and result.applied[0].lines == ((1, 200),)


def test_a_threshold_is_measured_on_shelf_prices_so_an_item_deal_never_costs_it():
    lines = [PromoLine(1, "COLA", 1000, 2)]
    rules = [P("p1", "discount", skus=["COLA"], percent=Decimal(50)), P("p2", "spend_save", spend=2000, amount=100)]
    assert savings(priced(lines, rules)) == {"p1": 1000, "p2": 100}


# ---- exclusivity and stacking ---------------------------------------------------------------------------------

def test_a_unit_is_in_one_exclusive_deal_and_the_best_assignment_wins():
    lines = [PromoLine(1, "COLA", 200, 3), PromoLine(2, "BEER", 300, 1)]
    three_for_two = P("p1", "multi_buy", skus=["COLA"], buy=3, pay=2)  # saves 2.00
    half_price = P("p2", "discount", skus=["COLA"], percent=Decimal(50))  # saves 3.00 on the same colas
    assert savings(priced(lines, [three_for_two, half_price])) == {"p2": 300}
    two_drinks = P("p3", "multi_buy", groups=["drinks"], buy=2, price=250)  # beer + cola 2.50, cola + cola 1.50
    result = priced(lines, [three_for_two, two_drinks])
    assert savings(result) == {"p3": 400}  # two pairs beat 3 colas for 2 (2.00) with the beer alone


def test_equal_exclusive_savings_go_to_the_smaller_promotion_id():
    rules = [P("b", "discount", skus=["COLA"], amount=50), P("a", "discount", skus=["COLA"], percent=Decimal(25))]
    assert savings(priced([PromoLine(1, "COLA", 200, 1)], rules)) == {"a": 50}
    carts = [P("y", "discount", amount=100), P("x", "spend_save", spend=100, amount=100)]
    assert savings(priced([PromoLine(1, "COLA", 200, 1)], carts)) == {"x": 100}


def test_stackable_rules_apply_on_what_is_left_in_id_order():
    lines = [PromoLine(1, "COLA", 1000, 1)]
    rules = [P("p1", "discount", skus=["COLA"], percent=Decimal(10)),
             P("p2", "discount", groups=["drinks"], percent=Decimal(10), stackable=True),
             P("p3", "discount", percent=Decimal(50), stackable=True)]
    assert savings(priced(lines, rules)) == {"p1": 100, "p2": 90, "p3": 405}


def test_only_the_best_exclusive_basket_rule_applies():
    lines = [PromoLine(1, "WINE", 999, 3)]
    rules = [P("p1", "discount", percent=Decimal(10)), P("p2", "spend_save", spend=2500, amount=500),
             P("p3", "spend_save", spend=5000, amount=1000)]
    assert savings(priced(lines, rules)) == {"p2": 500}


# ---- time windows and the till's clock ------------------------------------------------------------------------

HAPPY_HOUR = Window(weekdays=frozenset({1, 2, 3, 4, 5}), start_minute=17 * 60, end_minute=19 * 60,
                    first_day=date(2026, 12, 1), last_day=date(2026, 12, 31))


@pytest.mark.parametrize("moment, on", [
    (WEDNESDAY_1730, True),
    (datetime(2026, 12, 2, 16, 59, tzinfo=SHOP), False),
    (datetime(2026, 12, 2, 19, 0, tzinfo=SHOP), False),  # the end is not included
    (datetime(2026, 12, 2, 18, 59, 59, tzinfo=SHOP), True),
    (datetime(2026, 12, 5, 17, 30, tzinfo=SHOP), False),  # Saturday
    (datetime(2026, 11, 30, 17, 30, tzinfo=SHOP), False),  # before the first day
    (datetime(2027, 1, 4, 17, 30, tzinfo=SHOP), False),  # after the last day
    (datetime(2026, 12, 31, 18, 0, tzinfo=SHOP), True),  # the last day is included
    # 16:30 UTC is 17:30 in the shop, but the engine reads `now`'s own wall time: the till passes shop time
    (datetime(2026, 12, 2, 16, 30, tzinfo=UTC), False),
])
def test_happy_hour_is_read_on_the_tills_clock_in_the_time_it_is_given(moment, on):
    rule = P("hh", "discount", groups=["drinks"], percent=Decimal(20), window=HAPPY_HOUR)
    assert bool(priced([PromoLine(1, "BEER", 300, 1)], [rule], now=moment).saving) is on


def test_an_untrusted_clock_holds_windowed_promotions_back_and_says_so():
    rules = [P("hh", "discount", groups=["drinks"], percent=Decimal(20), window=HAPPY_HOUR),
             P("always", "discount", skus=["WINE"], amount=100)]
    result = priced([PromoLine(1, "BEER", 300, 1), PromoLine(2, "WINE", 999, 1)], rules, trusted=False)
    assert savings(result) == {"always": 100} and result.held_back == ("hh",)
    with pytest.raises(DomainError, match="aware"):
        priced([PromoLine(1, "BEER", 300, 1)], rules, now=datetime(2026, 12, 2, 17, 30))


# ---- codes ----------------------------------------------------------------------------------------------------

def test_a_promo_code_unlocks_a_rule_many_times_and_a_coupon_is_consumed():
    promo = P("p1", "discount", percent=Decimal(10), codes=frozenset({"WELCOME10"}), stackable=True)
    coupon = P("p2", "spend_save", spend=1000, amount=500, codes=frozenset({"C-0001", "C-0002"}), single_use=True)
    lines = [PromoLine(1, "WINE", 999, 2)]
    assert priced(lines, [promo, coupon]).saving == 0  # no code, no promotion
    result = priced(lines, [promo, coupon], codes=[" welcome10 ", "c-0002"])
    assert savings(result) == {"p1": 150, "p2": 500}  # the stackable 10% comes after the coupon
    assert [a.code for a in result.applied] == ["WELCOME10", "C-0002"]
    assert result.consumed_codes == ("C-0002",) and result.code_problems == ()


def test_codes_that_give_nothing_are_reported_with_a_reason():
    coupon = P("p2", "spend_save", spend=1000, amount=500, codes=frozenset({"C-0001", "C-0002"}), single_use=True)
    night = P("p3", "discount", percent=Decimal(5), codes=frozenset({"NIGHT"}), window=HAPPY_HOUR)
    small = P("p4", "spend_save", spend=100_000, amount=5, codes=frozenset({"BIGSPEND"}))
    result = priced([PromoLine(1, "WINE", 999, 2)], [coupon, night, small], trusted=False,
                    codes=["C-0001", "C-0002", "NOPE", "NIGHT", "BIGSPEND"], used_codes=["C-0001"])
    assert result.consumed_codes == ("C-0002",)
    assert dict(result.code_problems) == {
        "C-0001": "This coupon has already been used",
        "NOPE": "No promotion has this code",
        "NIGHT": "This promotion has a time window and the till's clock is not set",
        "BIGSPEND": "The promotion for this code does not apply to this cart now",
    }
    two = priced([PromoLine(1, "WINE", 999, 2)], [coupon], codes=["C-0002", "C-0001"])
    assert two.consumed_codes == ("C-0001",)
    assert dict(two.code_problems) == {"C-0002": "Another code already unlocked this promotion"}


# ---- refunds --------------------------------------------------------------------------------------------------

def test_refunding_part_of_a_mix_and_match_gives_back_what_those_units_paid():
    deal = P("p1", "multi_buy", groups=["drinks"], buy=2, price=300)
    result = priced([PromoLine(1, "COLA", 210, 1), PromoLine(2, "BEER", 200, 2)], [deal])
    assert result.total == 300 + 200  # cola and beer for 3.00 (saves 1.10), one beer at 2.00
    assert result.applied[0].lines == ((1, 56), (2, 54))  # 1.10 spread over 2.10 and 2.00
    beer = result.line(2)
    assert beer.tiers == (Tier(1, 200), Tier(1, 146))
    assert refund_share(beer.tiers, 0, 1) == 200  # the beer outside the deal comes back first, at full price
    assert refund_share(beer.tiers, 1, 1) == 146
    assert refund_share(result.line(1).tiers, 0, 1) == 154


def test_a_weighed_line_is_refunded_by_weight():
    result = priced([PromoLine(1, "APPLE", 300, Decimal("1.500"))], [P("p1", "discount", skus=["APPLE"],
                                                                          percent=Decimal(10))])
    line = result.line(1)
    assert line.paid == 405 and refund_share(line.tiers, Decimal(0), Decimal("0.500")) == 135


# ---- size and determinism -------------------------------------------------------------------------------------

def test_big_quantities_are_priced_without_expanding_units():
    deal = P("p1", "multi_buy", skus=["PEN"], buy=3, pay=2)
    result = priced([PromoLine(1, "PEN", 129, 9999)], [deal])
    assert result.saving == 3333 * 129 and result.line(1).tiers == (Tier(9999, 9999 * 86),)


def test_overlapping_deals_on_many_units_match_trying_every_split(monkeypatch):
    rules = [P("p1", "multi_buy", skus=["COLA"], buy=3, pay=2),
             P("p2", "multi_buy", groups=["drinks"], buy=2, price=250),
             P("p3", "discount", skus=["COLA"], percent=Decimal(30))]
    lines = [PromoLine(1, "COLA", 200, 41), PromoLine(2, "BEER", 180, 7), PromoLine(3, "COLA", 200, 5)]
    quick = priced(lines, rules)
    monkeypatch.setattr(engine, "FULL_RANGE", 10**9)
    assert priced(lines, rules) == quick


def test_the_same_cart_always_prices_the_same():
    rules = [P(f"p{i}", "multi_buy", groups=["drinks"], buy=2 + i % 3, pay=1) for i in range(6)]
    lines = [PromoLine(n, sku, 100 + 37 * n, 1 + n % 3) for n, sku in enumerate(["COLA", "BEER", "WATER"] * 3, 1)]
    first = priced(lines, rules)
    assert all(priced(lines, rules) == first for _ in range(3))


# ---- refusals -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, kw, reason", [
    ("discount", {"percent": Decimal(120)}, "at most 100"),
    ("discount", {"percent": Decimal(0)}, "more than 0"),
    ("discount", {"amount": -5}, "zero or more"),
    ("discount", {"percent": Decimal(5), "amount": 5}, "not both"),
    ("bogo", {}, "unknown kind"),
    ("multi_buy", {"skus": ["A"], "buy": 3, "pay": 3}, "less than 'buy'"),
    ("multi_buy", {"skus": ["A"], "buy": 3, "pay": 2, "price": 100}, "either"),
    ("multi_buy", {"buy": 3, "pay": 2}, "SKUs or groups"),
    ("multi_buy", {"skus": ["A"], "buy": 3, "pay": 2, "stackable": True}, "cannot be stackable"),
    ("spend_save", {"amount": 5}, "threshold"),
    ("discount", {"amount": 5, "codes": frozenset({"x"})}, "codes are"),
    ("discount", {"amount": 5, "codes": frozenset({"A" * 33})}, "codes are"),
    ("discount", {"amount": 5, "single_use": True}, "coupon codes"),
])
def test_nonsense_rules_are_refused_with_a_reason(kind, kw, reason):
    with pytest.raises(PayloadInvalid, match=reason):
        P("bad", kind, **kw)


def test_windows_and_books_refuse_nonsense():
    with pytest.raises(PayloadInvalid, match="end time must be after"):
        Window(start_minute=19 * 60, end_minute=17 * 60)
    with pytest.raises(PayloadInvalid, match="last day is before"):
        Window(first_day=date(2026, 12, 2), last_day=date(2026, 12, 1))
    with pytest.raises(PayloadInvalid, match="weekdays"):
        Window(weekdays=frozenset({0}))
    with pytest.raises(PayloadInvalid, match="appears twice"):
        PromotionBook([P("a", "discount", amount=1), P("a", "discount", amount=2)])
    with pytest.raises(PayloadInvalid, match="single-use code"):
        PromotionBook([P("a", "discount", amount=1, codes=frozenset({"C1X"}), single_use=True),
                       P("b", "discount", amount=2, codes=frozenset({"C1X"}), single_use=True)])
    with pytest.raises(PayloadInvalid, match="not a time"):
        promotion_from_dict({"promotion_id": "a", "name": "A", "kind": "discount", "amount": 1,
                             "window": {"start": "25:00", "end": "26:00"}})
    with pytest.raises(DomainError, match="appears twice"):
        priced([PromoLine(1, "A", 1, 1), PromoLine(1, "B", 1, 1)], [])
