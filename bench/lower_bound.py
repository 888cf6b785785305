"""The lower bound: the fewest calls, made by one warm boto3 client.

    python bench/lower_bound.py ENDPOINT WARM_BUCKET

Started once per benchmark with the baked project's Python (the same boto3
as the generated script). It imports boto3, makes one S3 client and warms it
(a listing and a DeleteObjects on WARM_BUCKET load the models, build the
parsers and open the connection), prints ``ready``, then serves one run per
line read from stdin, a JSON object ``{"bucket", "prefix", "cutoff_days"}``
(``cutoff_days`` null: delete everything under the prefix). For each run it
lists full 1,000-key pages and deletes each page's matches with one quiet
DeleteObjects on a single background thread, so a delete overlaps the next
page's listing, and prints ``{"seconds", "cpu_seconds", "deleted", "rss_kb"}``:
the wall and CPU time of that work alone, and this process's own high-water
RSS (VmHWM) so far.
No settings, no identity check, no logging: nothing but the calls. Its
client reads ``LastModified`` with ``datetime.fromisoformat`` (botocore's
dateutil parser would make the bound slower than the generated script).
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.utils import parse_timestamp


def fast_timestamp(value: Any) -> datetime:
    if isinstance(value, str) and value.endswith("Z"):
        return datetime.fromisoformat(value)
    return parse_timestamp(value)


def own_peak_rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def delete(s3: Any, bucket: str, keys: list[str]) -> int:
    objects = [{"Key": key} for key in keys]
    response = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
    if response.get("Errors"):
        raise RuntimeError(f"{len(response['Errors'])} keys not deleted")
    return len(keys)


def clean(s3: Any, pool: ThreadPoolExecutor, request: dict[str, Any]) -> int:
    bucket, prefix = request["bucket"], request["prefix"]
    cutoff = None
    if request["cutoff_days"] is not None:
        cutoff = datetime.now(UTC) - timedelta(days=request["cutoff_days"])
    deleted = 0
    in_flight: Future[int] | None = None
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        keys = [
            item["Key"]
            for item in page.get("Contents", [])
            if cutoff is None or item["LastModified"] < cutoff
        ]
        if in_flight is not None:
            deleted += in_flight.result()
            in_flight = None
        if keys:
            in_flight = pool.submit(delete, s3, bucket, keys)
    if in_flight is not None:
        deleted += in_flight.result()
    return deleted


def main() -> int:
    endpoint, warm_bucket = sys.argv[1], sys.argv[2]
    session = botocore.session.Session()
    parsers = session.get_component("response_parser_factory")
    parsers.set_parser_defaults(timestamp_parser=fast_timestamp)
    s3 = boto3.Session(botocore_session=session).client(
        "s3", endpoint_url=endpoint, region_name="us-east-1"
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        s3.list_objects_v2(Bucket=warm_bucket, Prefix="warm/")
        pool.submit(delete, s3, warm_bucket, ["warm/nothing"]).result()
        print("ready", flush=True)
        for line in sys.stdin:
            request = json.loads(line)
            started, cpu_started = time.perf_counter(), time.process_time()
            deleted = clean(s3, pool, request)
            result = {
                "seconds": time.perf_counter() - started,
                "cpu_seconds": time.process_time() - cpu_started,
                "deleted": deleted,
                "rss_kb": own_peak_rss_kb(),
            }
            print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
