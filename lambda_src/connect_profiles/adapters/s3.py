"""The S3 adapter: the dropped file, the job's working state, and the report files."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from connect_profiles.domain.model import Proficiency
from connect_profiles.ports import ACCESS_DENIED_CODES, PermissionDenied, Store


@contextmanager
def _refusals(action: str, resource: str) -> Iterator[None]:
    """An S3 AccessDenied becomes PermissionDenied, naming what was refused; nothing else changes."""
    try:
        yield
    except ClientError as error:
        details = error.response.get("Error", {})
        if details.get("Code") in ACCESS_DENIED_CODES:
            raise PermissionDenied.from_aws(action, resource, details.get("Message", "")) from error
        raise


class S3Store:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self.bucket = bucket
        self.region = str(client.meta.region_name or "")

    def read_version(self, key: str, version_id: str | None) -> bytes:
        """The exact object version the event announced (the newest, where the bucket has none)."""
        extra = {"VersionId": version_id} if version_id else {}
        action = "s3:GetObjectVersion" if version_id else "s3:GetObject"
        with _refusals(action, self._arn(key)):
            response = self._client.get_object(Bucket=self.bucket, Key=key, **extra)
            return bytes(response["Body"].read())

    def put_bytes(self, key: str, content: bytes, content_type: str = "text/csv; charset=utf-8") -> None:
        with _refusals("s3:PutObject", self._arn(key)):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=content, ContentType=content_type)

    def put_json(self, key: str, document: Any) -> None:
        self.put_bytes(key, json.dumps(document, separators=(",", ":")).encode(), "application/json")

    def get_json(self, key: str) -> Any:
        with _refusals("s3:GetObject", self._arn(key)):
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            return json.loads(response["Body"].read())

    def list_keys(self, prefix: str) -> list[str]:
        with _refusals("s3:ListBucket", f"arn:aws:s3:::{self.bucket} (prefix {prefix})"):
            pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def _arn(self, key: str) -> str:
        return f"arn:aws:s3:::{self.bucket}/{key}"


class S3Journal:
    """The engine's Journal on S3: one small object per user written before the user's first call."""

    def __init__(self, store: Store, prefix: str) -> None:
        self._store = store
        self._prefix = prefix
        self._recorded: set[str] | None = None
        self._lock = threading.Lock()

    def recall(self, user_id: str) -> list[Proficiency] | None:
        with self._lock:
            if self._recorded is None:  # one listing per batch instead of a lookup per user
                self._recorded = set(self._store.list_keys(self._prefix))
        if self._key(user_id) not in self._recorded:
            return None
        data = self._store.get_json(self._key(user_id))
        return [Proficiency(a, v, int(level)) for a, v, level in data]

    def record(self, user_id: str, before: list[Proficiency]) -> None:
        self._store.put_json(self._key(user_id), [[p.attribute, p.value, p.level] for p in before])

    def _key(self, user_id: str) -> str:
        return f"{self._prefix}{user_id}.json"
