"""Moved to :mod:`salesanalytics.engagement.spec`.

Phase declarations sit below the pipeline that runs them, so ``phases`` no longer imports
``pipeline``. This name stays for one release for code outside the repository; it is the same module
object.
"""

import sys

from salesanalytics.engagement import spec as _moved

sys.modules[__name__] = _moved
