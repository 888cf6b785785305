"""The baseline the benchmark compares against: the usual first version of an
S3 cleanup script. It imports boto3 before reading its settings and deletes
one object per call. Not part of the template; do not copy it.
"""

import os
import sys
from datetime import UTC, datetime, timedelta

import boto3


def main() -> int:
    bucket = os.environ.get("S3_BUCKET", "")
    if not bucket or bucket != bucket.lower():
        print("invalid S3_BUCKET", file=sys.stderr)
        return 1
    prefix = os.environ.get("S3_PREFIX", "temp/")
    cutoff = datetime.now(UTC) - timedelta(days=int(os.environ.get("RETENTION_DAYS", "30")))
    s3 = boto3.client("s3")
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["LastModified"] < cutoff:
                s3.delete_object(Bucket=bucket, Key=item["Key"])
                deleted += 1
    print(f"deleted {deleted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
