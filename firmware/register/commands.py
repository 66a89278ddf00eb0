"""The register's commands, for front ends: `register.handle(Scan(code))`.

Defined in firmware/register/core/commands.py."""

from firmware.register.core.commands import (
                                             AddQuickKey,
                                             AddSku,
                                             BackToCart,
                                             BeginTender,
                                             CashMovement,
                                             CheckManager,
                                             Command,
                                             DiscountCart,
                                             DiscountLine,
                                             ExportPending,
                                             ExportRange,
                                             Login,
                                             Logout,
                                             NewSale,
                                             NoSale,
                                             OpenShift,
                                             Park,
                                             Recall,
                                             Refund,
                                             RemoveTender,
                                             Reprint,
                                             RetryCommit,
                                             RetryQuarantined,
                                             Scan,
                                             SetCustomer,
                                             SetQty,
                                             SyncNow,
                                             Tender,
                                             VoidLine,
                                             XReport,
                                             ZReport,
)

__all__ = ["AddQuickKey", "AddSku", "BackToCart", "BeginTender", "CashMovement", "CheckManager", "Command",
           "DiscountCart", "DiscountLine", "ExportPending", "ExportRange", "Login", "Logout", "NewSale", "NoSale",
           "OpenShift", "Park", "Recall", "Refund", "RemoveTender", "Reprint", "RetryCommit", "RetryQuarantined",
           "Scan", "SetCustomer", "SetQty", "SyncNow", "Tender", "VoidLine", "XReport", "ZReport"]
