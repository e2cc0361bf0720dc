"""The job bucket (inputs and reports) and the bucket that receives its access logs."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

# The bucket's layout (files to apply, files to plan only, outputs) is shared with the function.
from connect_profiles.contract import INPUT_PREFIXES, INPUT_SUFFIXES, REPORTS_PREFIX

ACCESS_LOG_RETENTION = Duration.days(365)
NONCURRENT_VERSION_RETENTION = Duration.days(30)


class JobStorage(Construct):
    """Versioned, private, TLS-only, encrypted bucket whose access is logged to a second bucket.

    Both buckets are retained when the stack is deleted: they hold the job history and the audit
    trail (see the README's teardown section).
    """

    def __init__(self, scope: Construct, construct_id: str, *, report_retention: Duration) -> None:
        super().__init__(scope, construct_id)

        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            # Server access log delivery only supports SSE-S3 on the target bucket.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireAccessLogs", expiration=ACCESS_LOG_RETENTION),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.bucket = s3.Bucket(
            self,
            "JobBucket",
            # SSE-S3 rather than KMS so that administrators can upload with plain s3:PutObject rights.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            # The function reads the exact version named in the event, so an overwrite mid-job is harmless.
            versioned=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="job-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireReports",
                    prefix=REPORTS_PREFIX,
                    expiration=report_retention,
                ),
                s3.LifecycleRule(
                    id="TidyVersionsAndUploads",
                    noncurrent_version_expiration=NONCURRENT_VERSION_RETENTION,
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )

    def notify_on_new_input(self, target: lambda_.IFunction) -> None:
        """Every new `.csv` under incoming/ or dry-run/ invokes `target` (reports/ never does)."""
        destination = s3n.LambdaDestination(target)
        for prefix in INPUT_PREFIXES:
            for suffix in INPUT_SUFFIXES:
                self.bucket.add_event_notification(
                    s3.EventType.OBJECT_CREATED,
                    destination,
                    s3.NotificationKeyFilter(prefix=prefix, suffix=suffix),
                )
