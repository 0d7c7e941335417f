"""An S3-compatible server for the tests: a fresh bucket per test, the settings (Open WebUI's
variable names) that point the app at it, and a look inside the bucket that bypasses the app.

The server is moto's server mode (``pip install -e '.[test]'`` brings it); the app talks to it
over HTTP with the S3 protocol, as it would to MinIO or AWS."""

import importlib.util
import os
import uuid
from dataclasses import dataclass

import boto3
import pytest

CREDENTIALS = {"S3_ACCESS_KEY_ID": "webui-test", "S3_SECRET_ACCESS_KEY": "webui-test-secret"}
REGION = "us-east-1"


def require_s3_server() -> None:
    """moto's server mode, or a skip; CI (WEBUI_REQUIRE_SERVICES=1) fails instead of skipping."""
    missing = [name for name in ("moto", "flask_cors") if importlib.util.find_spec(name) is None]
    if not missing:
        return
    message = "the S3 test server is missing: pip install -e '.[test]' (moto[server])"
    if os.environ.get("WEBUI_REQUIRE_SERVICES") == "1":
        pytest.fail(f"WEBUI_REQUIRE_SERVICES=1 but {message}", pytrace=False)
    pytest.skip(message)


@dataclass
class Bucket:
    endpoint: str
    name: str
    prefix: str = "uploads"

    def settings(self) -> dict:
        """What the app is configured with, as environment variables or config keys."""
        return {
            "STORAGE_PROVIDER": "s3",
            "S3_BUCKET_NAME": self.name,
            "S3_ENDPOINT_URL": self.endpoint,
            "S3_REGION_NAME": REGION,
            "S3_KEY_PREFIX": self.prefix,
            "S3_ADDRESSING_STYLE": "path",
            **CREDENTIALS,
        }

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["S3_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["S3_SECRET_ACCESS_KEY"],
        )

    def keys(self) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client().get_object(Bucket=self.name, Key=key)["Body"].read()


def new_bucket(endpoint: str) -> Bucket:
    bucket = Bucket(endpoint, f"webui-{uuid.uuid4().hex[:16]}")
    bucket.client().create_bucket(Bucket=bucket.name)
    return bucket
