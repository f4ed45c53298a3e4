"""One delivery worker process for the benchmark: ``Worker(app).run_forever()`` with overrides.

Same as ``flask --app wsgi worker``, except that settings config.py does not read from the
environment yet can be given as JSON: python bench/worker.py '{"WORKER_THREADS": 4}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bizportal import create_app  # noqa: E402
from bizportal.delivery.worker import Worker  # noqa: E402

if __name__ == "__main__":
    app = create_app(json.loads(sys.argv[1]) if len(sys.argv) > 1 else None)
    Worker(app).run_forever()
