# Customer-managed KMS keys, one per purpose so that access to one kind of data
# never implies access to another. Every key rotates yearly.

locals {
  root_principal = "arn:${local.partition}:iam::${local.account_id}:root"

  # Administration stays with the account (IAM policies decide who); services
  # that encrypt on our behalf get usage rights scoped to their resources.
  kms_admin_statement = {
    Sid       = "AccountAdministers"
    Effect    = "Allow"
    Principal = { AWS = local.root_principal }
    Action    = "kms:*"
    Resource  = "*"
  }

  kms_keys = {
    eks = {
      description = "EKS ${local.cluster_name}: envelope encryption of Kubernetes secrets"
      statements  = [local.kms_admin_statement]
    }
    logs = {
      description = "EKS ${local.cluster_name}: CloudWatch log groups (control plane, VPC flow logs)"
      statements = [
        local.kms_admin_statement,
        {
          Sid       = "CloudWatchLogsUse"
          Effect    = "Allow"
          Principal = { Service = "logs.${local.region}.amazonaws.com" }
          Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
          Resource  = "*"
          Condition = {
            ArnLike = {
              "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
            }
          }
        },
      ]
    }
    loki = {
      description = "EKS ${local.cluster_name}: Loki chunk and index objects in S3"
      statements  = [local.kms_admin_statement]
    }
    ecr = {
      description = "EKS ${local.cluster_name}: ECR container images"
      statements  = [local.kms_admin_statement]
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = local.kms_keys

  description             = each.value.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = each.value.statements
  })
}

resource "aws_kms_alias" "this" {
  for_each = local.kms_keys

  name          = "alias/${local.cluster_name}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}
