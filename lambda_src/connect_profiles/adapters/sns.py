"""The SNS adapter: publishes the job summary."""

from __future__ import annotations

from typing import Any


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self.topic_arn = topic_arn

    def publish(self, subject: str, body: str) -> str:
        response = self._client.publish(TopicArn=self.topic_arn, Subject=subject, Message=body)
        return str(response["MessageId"])
