# Loki's object store: chunks and TSDB index. Private, KMS-encrypted,
# versioned, TLS-only, and expired by a lifecycle rule.

resource "aws_s3_bucket" "loki" {
  #checkov:skip=CKV_AWS_144:Loki data is reproducible telemetry with its own retention; cross-region replication would double cost for no recovery need.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events for Loki chunks; notifications would be an unused integration.
  #checkov:skip=CKV_AWS_18:Only Loki's Pod Identity role can reach the bucket; server access logs would need a second, unmonitored bucket (use CloudTrail data events if audit is required).
  bucket        = "${local.cluster_name}-loki-${local.account_id}-${local.region}"
  force_destroy = var.loki_bucket_force_destroy

  lifecycle {
    precondition {
      condition     = length("${local.cluster_name}-loki-${local.account_id}-${local.region}") <= 63
      error_message = "The Loki bucket name would exceed 63 characters: shorten name or environment."
    }
  }
}

resource "aws_s3_bucket_ownership_controls" "loki" {
  bucket = aws_s3_bucket.loki.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "loki" {
  bucket = aws_s3_bucket.loki.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "loki" {
  bucket = aws_s3_bucket.loki.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "loki" {
  bucket = aws_s3_bucket.loki.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this["loki"].arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "loki" {
  bucket = aws_s3_bucket.loki.id

  rule {
    id     = "expire-loki-data"
    status = "Enabled"

    filter {}

    expiration {
      days = var.loki_chunk_expiration_days
    }

    # Versioning keeps overwritten and deleted objects: drop them after a week.
    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.loki]
}

resource "aws_s3_bucket_policy" "loki" {
  bucket = aws_s3_bucket.loki.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [aws_s3_bucket.loki.arn, "${aws_s3_bucket.loki.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })

  # A bucket policy cannot be attached while public-policy blocking is being set up.
  depends_on = [aws_s3_bucket_public_access_block.loki]
}
