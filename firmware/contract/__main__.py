"""`python -m firmware.contract`: regenerate the checked-in JSON Schemas from the models."""

from firmware.contract.schemas import main

main()
