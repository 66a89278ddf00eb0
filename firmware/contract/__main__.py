"""`python -m firmware.contract [--check]`: regenerate the checked-in JSON Schemas from the models (or check them)."""

import sys

from firmware.contract.schemas import main

sys.exit(main())
