"""Schemathesis hooks for the outside check.

Generated requests reuse a handful of short Idempotency-Key values across different
bodies, which the API rightly refuses with 422 `idempotency_key_reused`. A valid key is
therefore replaced by a fresh one, so that schema-valid requests are judged on their
bodies; invalid keys are left alone, so that their rejection is still tested.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and VALID_KEY.match(headers[name]):
            headers[name] = uuid.uuid4().hex
