"""Pure domain core of the register: money, tax, catalog, clerks, sale, receipts, refunds, shifts and reports."""

from firmware.domain.barcode import ScanCheck, check_scan
from firmware.domain.catalog import Catalog, Item, NotSellable, QuickKey
from firmware.domain.clerks import Clerk, Roster, hash_pin, verify_pin
from firmware.domain.errors import DomainError, PayloadInvalid, Refused
from firmware.domain.lines import Line
from firmware.domain.money import format_money, minor_digits, parse_money, round_cash
from firmware.domain.parked import ParkedCart, park
from firmware.domain.receipt import finalize, no_sale_body
from firmware.domain.receipt_model import Receipt
from firmware.domain.refunds import build_blind_return, build_refund, refundable
from firmware.domain.reports import expected_cash, summarize
from firmware.domain.sale import Sale, Tender, Totals
from firmware.domain.shift import Shift
from firmware.domain.tax import TaxResult, compute_taxes

__all__ = [
    "ScanCheck", "check_scan", "Catalog", "Item", "QuickKey", "NotSellable", "Clerk", "Roster", "hash_pin",
    "verify_pin", "DomainError", "PayloadInvalid", "Refused", "Line", "format_money", "minor_digits",
    "parse_money", "round_cash", "ParkedCart", "park", "finalize", "no_sale_body", "Receipt", "build_blind_return",
    "build_refund", "refundable", "expected_cash", "summarize", "Sale", "Tender", "Totals", "Shift",
    "TaxResult", "compute_taxes",
]
