"""``python -m xtrust.xapps.kpmmon``: run the KPM monitor xApp."""

import sys

from xtrust.xapps.kpmmon.app import main

sys.exit(main())
