"""Pure domain core of the register: money, tax, catalog, clerks, sale, receipts, refunds, shifts and reports."""
