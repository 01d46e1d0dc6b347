"""Snapshot spill + event archive bucket: versioned, SSE-KMS, private, TLS-only, with a lifecycle."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from lambdas.eventstore import keys

s3 = aws.s3
# S3 lifecycle transitions skip objects smaller than this (the default minimum object size since
# September 2024), and Glacier IR bills any object as at least this much anyway.
LIFECYCLE_MIN_TRANSITION_BYTES = 128 * 1024


@dataclass(frozen=True)
class ArchiveBucketArgs:
    # The bucket's name is this plus a random suffix (Pulumi autonaming: `<prefix>-<7 hex>`),
    # chosen once and kept in the stack state: nobody can create it first, as they could a name
    # derived from the tenant and account. Read it from the bucket's outputs, never recompute it.
    name_prefix: str
    kms_key_arn: pulumi.Input[str]
    retention_days: int
    tags: Mapping[str, str]
    force_destroy: bool = False
    noncurrent_version_days: int = 30


def tls_only_policy(bucket_arn: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }, sort_keys=True)


class ArchiveBucket(pulumi.ComponentResource):
    bucket: s3.Bucket

    def __init__(self, name: str, args: ArchiveBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("tenantry:storage:ArchiveBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Logical name = the autoname prefix (S3's `bucket_prefix` allows only 37 characters, too few
        # for `tenantry-<31-character tenant>-archive-`).
        self.bucket = s3.Bucket(args.name_prefix, force_destroy=args.force_destroy, tags=dict(args.tags), opts=child)
        bucket_id = self.bucket.id
        block = s3.BucketPublicAccessBlock(
            f"{name}-public-access-block", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=child)
        s3.BucketOwnershipControls(
            f"{name}-ownership", bucket=bucket_id,
            rule=s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=child)
        s3.BucketVersioning(
            f"{name}-versioning", bucket=bucket_id,
            versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=child)
        s3.BucketServerSideEncryptionConfiguration(
            f"{name}-sse", bucket=bucket_id,
            rules=[s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=(
                    s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn)),
                bucket_key_enabled=True,
            )],
            opts=child)
        # The policy waits for the public access block so the two never race on creation.
        s3.BucketPolicy(f"{name}-tls-only", bucket=bucket_id, policy=self.bucket.arn.apply(tls_only_policy),
                        opts=pulumi.ResourceOptions(parent=self, depends_on=[block]))
        s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle", bucket=bucket_id,
            rules=[
                # Archived events are history, kept for the retention period in S3 Standard. No
                # transition to a colder class: lifecycle transitions skip objects under 128 KB and an
                # archive object is one batch of <= 100 events (~15 KB gzip); compacting each day's
                # batches into larger objects would rewrite the only copy of old history to save
                # ~$0.019/GB-month (README, "Archive storage").
                s3.BucketLifecycleConfigurationRuleArgs(
                    id="archive-expiry", status="Enabled",
                    filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=keys.ARCHIVE_PREFIX),
                    expiration=s3.BucketLifecycleConfigurationRuleExpirationArgs(days=args.retention_days),
                ),
                # Snapshots are referenced by event items: never expired, only old versions are.
                s3.BucketLifecycleConfigurationRuleArgs(
                    id="noncurrent-versions", status="Enabled",
                    filter=s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days),
                    abort_incomplete_multipart_upload=(
                        s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(days_after_initiation=7)),
                ),
            ],
            opts=child)
        self.register_outputs({"name": self.bucket.bucket, "arn": self.bucket.arn})
