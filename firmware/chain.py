"""The receipt hash chain for the firmware side: a re-export of firmware.contract.chain, which fleet shares."""

from firmware.contract.chain import GENESIS, ChainBroken, canonical_json, receipt_hash, seal, verify_chain

__all__ = ["GENESIS", "ChainBroken", "canonical_json", "receipt_hash", "seal", "verify_chain"]
