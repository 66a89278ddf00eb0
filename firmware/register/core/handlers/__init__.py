"""Which handler takes which command, event and state-write follow-up: one table each, keyed by type.

A command handler is `(step, command) -> Outcome`; an event handler and a
follow-up handler return nothing. All of them only read `step.state` and
`step.ctx` and write `step.state` and `step.effects` (see `core/step.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firmware.register.core import commands as c, effects as fx, events as ev
from firmware.register.core.handlers import (
                                             accounts,
                                             clerks,
                                             customers,
                                             devices,
                                             downlink,
                                             finder,
                                             fleet,
                                             layby,
                                             mail,
                                             park,
                                             refund,
                                             reports,
                                             sale,
                                             shift,
                                             stock,
                                             till,
                                             timeclock,
                                             weighed,
)
from firmware.register.core.step import Step
from firmware.register.view import Outcome
from firmware.sync import events as sync
from hal import events as hal

CommandHandler = Callable[[Step, Any], Outcome]  # Any: each handler takes its own command type (the key)
EventHandler = Callable[[Step, Any], None]
FollowUpHandler = Callable[[Step, Any, bool, str], None]

COMMAND_HANDLERS: dict[type[c.Command], CommandHandler] = {
    c.Login: clerks.login,
    c.Logout: clerks.logout,
    c.CheckManager: clerks.check_manager,
    c.Scan: park.scan,  # a park slip recalls its cart; every other code goes on to sale.scan
    c.AddSku: sale.add_sku,
    c.AddQuickKey: sale.add_quick_key,
    c.SetQty: sale.set_qty,
    c.VoidLine: sale.void_line,
    c.DiscountLine: sale.discount_line,
    c.DiscountCart: sale.discount_cart,
    c.SetCustomer: sale.set_customer,
    c.EnterCode: sale.enter_code,
    c.RemoveCode: sale.remove_code,
    c.BeginTender: sale.begin_tender,
    c.BackToCart: sale.back_to_cart,
    c.Tender: sale.tender,
    c.RemoveTender: sale.remove_tender,
    c.SellGiftCard: accounts.sell_gift_card,
    c.TopUpGiftCard: accounts.top_up_gift_card,
    c.RedeemGiftCard: accounts.redeem_gift_card,
    c.RedeemPoints: accounts.redeem_points,
    c.OpenLayby: layby.open_layby,
    c.PayLayby: layby.pay_layby,
    c.CollectLayby: layby.collect_layby,
    c.CancelLayby: layby.cancel_layby,
    c.FindLaybys: layby.find_laybys,
    c.RetryCommit: sale.retry_commit,
    c.NewSale: sale.new_sale,
    c.Park: park.park,
    c.Recall: park.recall,
    c.Refund: refund.refund,
    c.OpenShift: shift.open_shift,
    c.CashMovement: shift.cash_movement,
    c.XReport: reports.x_report,
    c.ZReport: reports.z_report,
    c.NoSale: till.no_sale,
    c.Reprint: till.reprint,
    c.SyncNow: till.sync_now,
    c.RetryQuarantined: till.retry_quarantined,
    c.ExportPending: till.export_pending,
    c.ExportRange: till.export_range,
    c.Punch: timeclock.punch,
    c.Hours: timeclock.hours,
    c.MailReceipt: mail.mail_receipt,
    c.FindReceipts: finder.find_receipts,
    c.FindCustomers: customers.find_customers,
    c.SaveCustomer: customers.save_customer,
    c.CountStock: stock.count_stock,
    c.HoldScans: devices.hold_scans,
}

EVENT_HANDLERS: dict[type[object], EventHandler] = {
    ev.ReceiptCommitted: sale.committed,
    ev.CommitFailed: sale.commit_failed,
    ev.StateWritten: devices.state_written,
    ev.ReceiptPrinting: devices.receipt_printing,
    ev.JournalHealthMeasured: devices.journal_health,
    ev.JournalArchived: devices.journal_archived,
    ev.ExportFinished: devices.export_finished,
    ev.ReportSummed: fleet.report_summed,
    ev.PunchCommitted: timeclock.committed,
    ev.PunchFailed: timeclock.failed,
    ev.ReceiptsFound: finder.found,
    ev.AccountsReceived: accounts.accounts_received,
    hal.ScanRead: devices.scan_read,
    hal.ScanRejected: devices.scan_rejected,
    hal.DeviceState: devices.device_state,
    hal.WeightRead: weighed.scale_read,
    hal.PrintDone: devices.print_done,
    hal.PrintFailed: devices.print_failed,
    hal.DrawerOpened: devices.drawer_opened,
    hal.DrawerClosed: devices.drawer_closed,
    hal.DrawerLeftOpen: devices.drawer_left_open,
    sync.LinkUp: devices.link_up,
    sync.LinkDown: devices.link_down,
    sync.ReceiptsDelivered: devices.outbox_moved,
    sync.ReceiptsConfirmed: devices.outbox_moved,
    sync.PublishRefused: devices.publish_refused,
    sync.ReceiptsConflicted: devices.receipts_conflicted,
    sync.JournalRolledBack: devices.journal_rolled_back,
    sync.CatalogReceived: downlink.catalog_received,
    sync.ClerksReceived: downlink.clerks_received,
    sync.CommandReceived: fleet.command_received,
}

FOLLOW_UPS: dict[type[object], FollowUpHandler] = {
    fx.CartParked: park.cart_parked,
    fx.CartRecalled: park.cart_recalled,
    fx.RefundIndexed: refund.indexed,
    fx.ShiftSaved: shift.shift_saved,
    fx.ZReportSaved: reports.z_report_saved,
    fx.LockoutsSaved: clerks.lockouts_saved,
    fx.AccountsSaved: accounts.saved,
    fx.MailQueued: mail.queued,
}
