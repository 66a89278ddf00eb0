"""No message the register says shows money as bare minor units ("Paid, change 317"): every amount carries the
shop's currency, as a symbol or a code by `[shop] currency_display`.

Two checks: the register is driven through every path whose message holds money and each sentence is read
with a regex; and the source of the core and the domain is read, so that a new sentence which drops a money
variable into an f-string without formatting it fails here before a cashier sees it.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from firmware.domain.errors import Refused
from firmware.domain.sale import Sale
from firmware.register.commands import (
    BeginTender,
    CashMovement,
    DiscountLine,
    OpenShift,
    Refund,
    RemoveTender,
    Tender,
)
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier

COFFEE = "4006380135079"  # 7.99
ROOT = Path(__file__).resolve().parents[3]

SYMBOL = {"symbol": r"€", "code": r"EUR "}


def bare_amounts(text: str, display: str) -> list[str]:
    """Numbers in `text` that look like money without the currency: "317", "3.17" (a "#12" receipt number,
    "line 2" and single digits such as "3 sold" are not money)."""
    rest = re.sub(rf"-?{SYMBOL[display]}\d+(?:\.\d+)?", " ", text)
    rest = re.sub(r"#\d+|\bline \d+|\d+%|\b\d+ (?:sold|refunded|left|tries?|g|kg|l|ml)\b", " ", rest)
    return re.findall(r"\d+\.\d+|\d{2,}", rest)


@pytest.fixture(params=["symbol", "code"])
def shop(request, tmp_path):
    rig = RegisterRig(tmp_path / "data", shop={"currency_display": request.param, "cash_rounding": 5})
    rig.start()
    yield rig.register, request.param
    rig.stop()


def test_every_message_with_money_names_the_currency(shop):
    reg, display = shop
    said: list[str] = []

    def run(command, ok=None):
        out = reg.handle(command)
        said.append(out.message)
        if reg.view().message is not None:
            said.append(reg.view().message.text)
        if ok is not None:
            assert out.ok is ok, out.message
        return out

    login_cashier(reg)
    assert reg.scan(COFFEE).ok and reg.scan(PENCIL).ok  # 9.28
    run(DiscountLine(1, amount=90_000), ok=False)  # "The discount (€900.00) is more than line 1 is worth (€7.99)"
    run(BeginTender(), ok=True)
    run(Tender("card", 50_000), ok=False)  # cannot exceed the amount due
    run(Tender("cash", 500), ok=False)  # Part payment of €5.00?
    run(Tender("cash", 500, part_payment=True), ok=True)  # taken; still to pay
    run(Tender("cash", 429), ok=False)  # 4.28 is due, 4.30 in cash: 4.29 is not enough
    run(Tender("card", 100), ok=True)
    run(RemoveTender(1), ok=True)
    run(RemoveTender(0), ok=True)
    run(Tender("cash", 2000), ok=True)
    reg.wait_idle()
    said.append(reg.view().message.text)  # Paid, change
    sale = reg.view().last_receipt.to_doc()
    reg.new_sale()
    run(Refund(sale["receipt_id"], {1: 1}, "cash", manager_pin="9999"), ok=True)
    reg.wait_idle()
    said.append(reg.view().message.text)  # Refund saved: give back
    reg.new_sale()
    run(OpenShift(10_000))
    run(CashMovement("paid_in", 2_500, "change float"), ok=True)
    preview = reg.refund_preview(sale["receipt_id"], {1: 1})
    said.append(preview.problem or "")

    with_money = [text for text in said if re.search(SYMBOL[display], text)]
    assert len(with_money) >= 10, said
    wanted = {"symbol": ["Paid, change €", "cannot exceed the amount due (€9.28)", "Cash due is €4.30",
                         "Part payment of €5.00?", "Refund saved: give back €", "Paid in of €25.00 recorded"],
              "code": ["Paid, change EUR ", "cannot exceed the amount due (EUR 9.28)", "Part payment of EUR 5.00?"]}
    for phrase in wanted[display]:
        assert any(phrase in text for text in said), (phrase, said)
    for text in said:
        assert not bare_amounts(text, display), f"bare money in {text!r}"


@pytest.mark.parametrize("display", ["symbol", "code"])
def test_the_domain_refusals_with_money_name_the_currency(display):
    from firmware.domain.catalog import Item

    pencil = Item(sku="p", name="Pencil", price=129, tax_code="A", barcodes=())
    sale = Sale.open("s", "c1", rates={"A": "19.00"}, cash_rounding=5, currency="EUR", currency_display=display)
    sale = sale.add(pencil, 2)
    cases = [
        lambda: sale.discount_line(1, amount=500),
        lambda: sale.discount_cart(amount=5_000, approved_by="m1"),
        lambda: sale.begin_tender().add_tender("card", 300),
        lambda: sale.begin_tender().add_tender("cash", 259),  # the due, 2.58, is 2.60 in cash
        lambda: sale.set_customer("K1").begin_tender().add_tender("on_account", offline=True, on_account_limit=100),
    ]
    for case in cases:
        with pytest.raises(Refused) as caught:
            case()
        text = str(caught.value)
        assert re.search(SYMBOL[display], text), text
        assert not bare_amounts(text, display), text
    assert bare_amounts("Paid, change 317", "symbol") and bare_amounts("cannot exceed (1.16)", "symbol")
    assert not bare_amounts("Refund from #12: 3 sold, line 2, €3.17", "symbol")


# ---- the source: money variables never go into a sentence unformatted

SENTENCE_CALLS = {"Refused", "Refusal", "refused", "Outcome", "note", "said", "ExportFinished", "ConfirmFirst"}
MONEY_NAMES = {
    "amount", "amounts", "due", "cash_due", "change", "total", "remaining", "given", "base", "limit_amount",
    "on_account_limit", "paid", "back", "float_amount", "counted_cash", "difference", "expected_cash", "cash",
    "give_back", "left_to_pay", "price", "unit_price", "discount", "rounding", "net", "tax", "value",
}
FORMATTERS = {"money", "format_money", "_money", "str_money"}
SOURCES = ["firmware/domain/sale.py", "firmware/domain/refunds.py", "firmware/register/core"]


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        return str(node.slice.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
        first = node.args[0]
        return str(first.value) if isinstance(first, ast.Constant) else ""
    return ""


def _called(node: ast.Call) -> str:
    return node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")


def unformatted_money(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or _called(call) not in SENTENCE_CALLS:
            continue
        for arg in [*call.args, *(k.value for k in call.keywords)]:
            for fstring in ast.walk(arg):
                if not isinstance(fstring, ast.JoinedStr):
                    continue
                for part in fstring.values:
                    if isinstance(part, ast.FormattedValue) and _name(part.value) in MONEY_NAMES:
                        where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name
                        found.append(f"{where}:{part.lineno}: {ast.unparse(part.value)}")
    return found


def test_no_sentence_in_the_core_or_the_sale_puts_a_money_variable_in_unformatted(tmp_path):
    files = []
    for source in SOURCES:
        p = ROOT / source
        files += sorted(p.rglob("*.py")) if p.is_dir() else [p]
    assert len(files) > 10
    problems = [problem for f in files for problem in unformatted_money(f)]
    assert not problems, "money in a sentence without money(...):\n" + "\n".join(problems)
    sample = tmp_path / "sample.py"
    sample.write_text('step.note("info", f"Paid, change {change}")\n'
                      'raise Refused(f"Cash due is {self.money(cash_due)} for line {line_no}")\n'
                      'return Outcome(False, f"over {receipt[\'total\']}")\n')
    assert [p.split(": ", 1)[1] for p in unformatted_money(sample)] == ["change", "receipt['total']"]
