"""The snapshot contract both the ETL and the web app import (docs/data-contract.md, docs/architecture.md).

Minimal here: only the event types. Flask-free and free of the ETL's heavy
modules, so the web app can import it.
"""

EVENT_TYPES = ("connection", "enrolment", "start", "completion")  # index = the code stored in the facts
