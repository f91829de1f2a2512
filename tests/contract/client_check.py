"""Uses the Python client generated from the OpenAPI document against a running server.

    client_check.py BASE_URL ADMIN_KEY

The server runs on a database filled by `offerlab demo` and allows a small burst per key,
so a 429 can be reached. Reads a report, posts events, and gets a typed problem (the
generated `Problem` model, with the documented status) on 401, 404, 409, 422 and 429.
Exits non-zero on the first surprise.
"""

import sys
import uuid

from offerlab_client import AuthenticatedClient
from offerlab_client.api.events import post_events
from offerlab_client.api.initiatives import get_initiative
from offerlab_client.api.reports import get_report
from offerlab_client.api.segments import create_segment, list_segments
from offerlab_client.models import (
    EventBatchInput,
    ExposureEvent,
    ExposureEventType,
    IngestOutcome,
    InitiativeView,
    Problem,
    ReportView,
    SegmentInput,
    SegmentList,
)

base, key = sys.argv[1], sys.argv[2]
client = AuthenticatedClient(base_url=base, token=key, raise_on_unexpected_status=True)
pilot = "ai-assistant"


def expect(value, kind, what):
    if not isinstance(value, kind):
        sys.exit(f"{what}: expected {kind.__name__}, got {value!r}")
    return value


def problem(response, status, what):
    p = expect(response.parsed, Problem, what)
    if response.status_code != status or p.status != status:
        sys.exit(f"{what}: expected a {status} problem, got {response.status_code} {p!r}")
    print(f"ok: {what}: {status} {p.type_}: {p.detail}")


report = expect(get_report.sync(pilot, client=client), ReportView, "report")
print(f"ok: report of {pilot} read")

initiative = expect(get_initiative.sync(pilot, client=client), InitiativeView, "initiative")
segments = expect(list_segments.sync(client=client), SegmentList, "segments")
segment = initiative.core_segments[0] if initiative.core_segments else segments.segments[0].key
variant = initiative.variants[0].key if initiative.variants else None
event = ExposureEvent(
    event_id=f"client-{uuid.uuid4()}",
    type_=ExposureEventType.EXPOSURE,
    customer_id=f"client-{uuid.uuid4()}",
    segment=segment,
)
if variant is not None:
    event.variant = variant
outcome = expect(
    post_events.sync(pilot, client=client, body=EventBatchInput(events=[event])),
    IngestOutcome,
    "post events",
)
if outcome.accepted != 1:
    sys.exit(f"post events: expected 1 accepted, got {outcome!r}")
print("ok: 1 event posted")

stranger = AuthenticatedClient(base_url=base, token="olk_" + "0" * 64)
problem(get_report.sync_detailed(pilot, client=stranger), 401, "unknown key")
problem(get_report.sync_detailed("no-such-pilot", client=client), 404, "unknown initiative")
problem(
    create_segment.sync_detailed(client=client, body=SegmentInput(key=segment)),
    409,
    "segment key taken",
)
problem(
    create_segment.sync_detailed(client=client, body=SegmentInput(key="Not A Slug")),
    422,
    "bad segment key",
)
for _ in range(200):
    r = get_report.sync_detailed(pilot, client=client)
    if r.status_code == 429:
        problem(r, 429, "rate limited")
        if not r.headers.get("retry-after", "").isdigit():
            sys.exit(f"429 without a Retry-After: {r.headers!r}")
        break
else:
    sys.exit("no 429 after 200 requests")
print("client check passed")
