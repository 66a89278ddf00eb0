"""Reference fleet backend: MQTT ingest with dedupe, confirmations, status and gap detection.

Imports only `firmware.contract` of Kassa's own code.
"""
