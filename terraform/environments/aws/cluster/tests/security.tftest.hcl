# Security properties of the AWS cluster layer, checked against a mocked AWS
# provider (no credentials, no network). `command = apply` lets the mock fill
# computed attributes (ARNs, ids) so cross-resource wiring can be compared.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
}

# The provider still validates ARN-shaped arguments, so resources whose ARN
# feeds another resource get a well-formed one; each key gets its own so the
# "right key for the right data" assertions cannot pass by accident.
override_resource {
  target = aws_kms_key.this["eks"]
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000e1c5" }
}
override_resource {
  target = aws_kms_key.this["logs"]
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-0000000010c5" }
}
override_resource {
  target = aws_kms_key.this["loki"]
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-00000000106d" }
}
override_resource {
  target = aws_kms_key.this["ecr"]
  values = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000ec5" }
}
override_resource {
  target = aws_iam_role.cluster
  values = { arn = "arn:aws:iam::123456789012:role/docproxy-dev-eks-cluster" }
}
override_resource {
  target = aws_iam_role.node
  values = { arn = "arn:aws:iam::123456789012:role/docproxy-dev-eks-node" }
}
override_resource {
  target = aws_iam_role.flow_logs
  values = { arn = "arn:aws:iam::123456789012:role/docproxy-dev-vpc-flow-logs" }
}
override_resource {
  target = aws_iam_role.loki
  values = { arn = "arn:aws:iam::123456789012:role/docproxy-dev-loki" }
}
override_resource {
  target = aws_iam_role.ebs_csi
  values = { arn = "arn:aws:iam::123456789012:role/docproxy-dev-ebs-csi" }
}
override_resource {
  target = aws_cloudwatch_log_group.flow_logs
  values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vpc/docproxy-dev/flow-logs" }
}
override_resource {
  target = aws_s3_bucket.loki
  values = { arn = "arn:aws:s3:::docproxy-dev-loki-123456789012-eu-west-1" }
}
override_resource {
  target = aws_launch_template.node
  values = { id = "lt-0123456789abcdef0", latest_version = 1 }
}
override_resource {
  target = aws_eks_cluster.this
  values = { certificate_authority = [{ data = "bW9jaw==" }] }
}

run "kms_keys_rotate" {
  command = apply

  assert {
    condition     = alltrue([for k in aws_kms_key.this : k.enable_key_rotation])
    error_message = "Every KMS key must have yearly rotation enabled."
  }
  assert {
    condition     = toset(keys(aws_kms_key.this)) == toset(["eks", "logs", "loki", "ecr"])
    error_message = "Expected one KMS key per purpose: eks, logs, loki, ecr."
  }
}

run "eks_secrets_encrypted_with_kms" {
  command = apply

  assert {
    condition     = aws_eks_cluster.this.encryption_config[0].resources == toset(["secrets"])
    error_message = "EKS must envelope-encrypt Kubernetes secrets."
  }
  assert {
    condition     = aws_eks_cluster.this.encryption_config[0].provider[0].key_arn == aws_kms_key.this["eks"].arn
    error_message = "EKS secrets must be encrypted with the dedicated eks KMS key."
  }
}

run "eks_cluster_role_can_use_the_secrets_key" {
  command = apply

  assert {
    condition     = aws_iam_role_policy.cluster_encryption.role == aws_iam_role.cluster.id
    error_message = "The KMS policy must be on the cluster role."
  }
  assert {
    condition = (
      toset(jsondecode(aws_iam_role_policy.cluster_encryption.policy).Statement[0].Action) == toset(["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]) &&
      jsondecode(aws_iam_role_policy.cluster_encryption.policy).Statement[0].Effect == "Allow" &&
      jsondecode(aws_iam_role_policy.cluster_encryption.policy).Statement[0].Resource == aws_kms_key.this["eks"].arn &&
      length(jsondecode(aws_iam_role_policy.cluster_encryption.policy).Statement) == 1
    )
    error_message = "The cluster role needs kms:Encrypt, Decrypt, ListGrants and DescribeKey on the eks key, and nothing else."
  }
}

run "eks_control_plane_logging" {
  command = apply

  assert {
    condition     = aws_eks_cluster.this.enabled_cluster_log_types == toset(["api", "audit", "authenticator", "controllerManager", "scheduler"])
    error_message = "All five EKS control-plane log types must be sent to CloudWatch."
  }
  assert {
    condition     = aws_cloudwatch_log_group.eks.name == "/aws/eks/${aws_eks_cluster.this.name}/cluster"
    error_message = "The pre-created log group must be the one EKS writes to."
  }
  assert {
    condition     = aws_cloudwatch_log_group.eks.kms_key_id == aws_kms_key.this["logs"].arn && aws_cloudwatch_log_group.eks.retention_in_days >= 365
    error_message = "Control-plane logs must be KMS-encrypted and kept for at least a year."
  }
}

run "eks_endpoint_private_by_default" {
  command = apply

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access && !aws_eks_cluster.this.vpc_config[0].endpoint_public_access
    error_message = "With no allowed CIDRs the API endpoint must be private-only."
  }
}

run "nodes_only_in_private_subnets" {
  command = apply

  assert {
    condition     = aws_eks_node_group.default.subnet_ids == toset(aws_subnet.private[*].id)
    error_message = "The node group must use exactly the private subnets."
  }
  assert {
    condition     = length(toset(aws_subnet.private[*].availability_zone)) == 3
    error_message = "Private subnets must span three availability zones."
  }
  assert {
    condition     = alltrue([for s in concat(aws_subnet.private, aws_subnet.public) : !s.map_public_ip_on_launch])
    error_message = "No subnet may assign public IPs on launch."
  }
  assert {
    condition = alltrue([
      for i, rt in aws_route_table.private : alltrue([
        for r in rt.route : (r.gateway_id == null ? "" : r.gateway_id) == "" && r.nat_gateway_id == aws_nat_gateway.this[i].id
      ])
    ])
    error_message = "Each private subnet must reach the internet only through its own AZ's NAT gateway, never an internet gateway."
  }
  assert {
    condition     = aws_launch_template.node.metadata_options[0].http_tokens == "required"
    error_message = "Nodes must require IMDSv2."
  }
}

run "loki_bucket_locked_down" {
  command = apply

  assert {
    condition     = aws_s3_bucket_versioning.loki.versioning_configuration[0].status == "Enabled"
    error_message = "The Loki bucket must be versioned."
  }
  assert {
    condition = alltrue([
      for r in aws_s3_bucket_server_side_encryption_configuration.loki.rule :
      r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      r.apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.this["loki"].arn
    ])
    error_message = "The Loki bucket must default to SSE-KMS with the loki key."
  }
  assert {
    condition = (
      aws_s3_bucket_public_access_block.loki.block_public_acls &&
      aws_s3_bucket_public_access_block.loki.block_public_policy &&
      aws_s3_bucket_public_access_block.loki.ignore_public_acls &&
      aws_s3_bucket_public_access_block.loki.restrict_public_buckets
    )
    error_message = "All four S3 public access blocks must be on."
  }
  assert {
    condition     = aws_s3_bucket_ownership_controls.loki.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(aws_s3_bucket_policy.loki.policy).Statement :
      s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*" &&
      s.Condition.Bool["aws:SecureTransport"] == "false" &&
      contains(s.Resource, "${aws_s3_bucket.loki.arn}/*")
    ])
    error_message = "The bucket policy must deny every request made without TLS."
  }
  assert {
    condition = alltrue([
      for r in aws_s3_bucket_lifecycle_configuration.loki.rule :
      r.status == "Enabled" && r.expiration[0].days == 90 && r.noncurrent_version_expiration[0].noncurrent_days > 0
    ])
    error_message = "A lifecycle rule must expire current and noncurrent Loki objects."
  }
}

run "loki_pod_identity" {
  command = apply

  assert {
    condition = (
      aws_eks_pod_identity_association.loki.namespace == "monitoring" &&
      aws_eks_pod_identity_association.loki.service_account == "loki" &&
      aws_eks_pod_identity_association.loki.role_arn == aws_iam_role.loki.arn
    )
    error_message = "Loki's service account must be bound to the Loki role."
  }
  assert {
    condition     = jsondecode(aws_iam_role.loki.assume_role_policy).Statement[0].Principal.Service == "pods.eks.amazonaws.com"
    error_message = "Only EKS Pod Identity may assume the Loki role."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.loki.policy).Statement : s.Resource != "*"
    ])
    error_message = "The Loki role must be scoped to its bucket and key, never Resource *."
  }
}

run "ecr_repositories_hardened" {
  command = apply

  assert {
    condition     = toset(keys(aws_ecr_repository.this)) == toset(["docproxy", "dummy-pdf-or-png"])
    error_message = "One repository per image is expected."
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_tag_mutability == "IMMUTABLE"])
    error_message = "ECR tags must be immutable."
  }
  assert {
    condition     = alltrue([for r in aws_ecr_repository.this : r.image_scanning_configuration[0].scan_on_push])
    error_message = "ECR must scan every pushed image."
  }
  assert {
    condition = alltrue([
      for r in aws_ecr_repository.this :
      r.encryption_configuration[0].encryption_type == "KMS" && r.encryption_configuration[0].kms_key == aws_kms_key.this["ecr"].arn
    ])
    error_message = "ECR images must be encrypted with the ecr KMS key."
  }
}

run "vpc_flow_logs_and_default_sg" {
  command = apply

  assert {
    condition     = aws_flow_log.this.traffic_type == "ALL" && aws_flow_log.this.log_destination == aws_cloudwatch_log_group.flow_logs.arn
    error_message = "VPC flow logs must capture all traffic into the flow-log group."
  }
  assert {
    condition     = length(aws_default_security_group.this.ingress) == 0 && length(aws_default_security_group.this.egress) == 0
    error_message = "The default security group must have no rules."
  }
}

run "public_endpoint_restricted_to_given_cidrs" {
  command = apply

  variables {
    endpoint_public_access_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access && aws_eks_cluster.this.vpc_config[0].public_access_cidrs == toset(["203.0.113.0/24"])
    error_message = "A public endpoint, when asked for, must be limited to the given CIDRs."
  }
}

run "rejects_world_open_endpoint" {
  command = plan

  variables {
    endpoint_public_access_cidrs = ["0.0.0.0/0"]
  }

  expect_failures = [var.endpoint_public_access_cidrs]
}

run "rejects_bad_node_group_size" {
  command = plan

  variables {
    node_group_size = { min = 4, desired = 2, max = 6 }
  }

  expect_failures = [var.node_group_size]
}

run "rejects_bucket_name_over_63_characters" {
  command = plan

  variables {
    name        = "abcdefghijklmnopqrstu"
    environment = "abcdefghijklmnop"
  }

  expect_failures = [aws_s3_bucket.loki]
}
