"""Hardware abstraction: ports (Scanner, Printer, Drawer, StatusLed) with real and simulated backends.

Imports nothing of Kassa's own; the register reaches hardware only through here.
"""
