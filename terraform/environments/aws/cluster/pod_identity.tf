# AWS access for in-cluster workloads through EKS Pod Identity (no OIDC
# provider or thumbprint needed): Loki reads and writes its bucket, the EBS CSI
# driver provisions Prometheus, Alertmanager and Loki volumes.

locals {
  pod_identity_trust_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "pods.eks.amazonaws.com" }
      Action    = ["sts:AssumeRole", "sts:TagSession"]
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

resource "aws_iam_role" "loki" {
  name               = "${local.cluster_name}-loki"
  assume_role_policy = local.pod_identity_trust_policy
}

resource "aws_iam_role_policy" "loki" {
  name = "loki-chunks-bucket"
  role = aws_iam_role.loki.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = aws_s3_bucket.loki.arn
      },
      {
        Sid      = "ReadWriteObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
        Resource = "${aws_s3_bucket.loki.arn}/*"
      },
      {
        Sid      = "UseBucketKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
        Resource = aws_kms_key.this["loki"].arn
      },
    ]
  })
}

resource "aws_eks_pod_identity_association" "loki" {
  cluster_name    = aws_eks_cluster.this.name
  namespace       = var.observability_namespace
  service_account = var.loki_service_account
  role_arn        = aws_iam_role.loki.arn
}

resource "aws_iam_role" "ebs_csi" {
  name               = "${local.cluster_name}-ebs-csi"
  assume_role_policy = local.pod_identity_trust_policy
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_eks_pod_identity_association" "ebs_csi" {
  cluster_name    = aws_eks_cluster.this.name
  namespace       = "kube-system"
  service_account = "ebs-csi-controller-sa"
  role_arn        = aws_iam_role.ebs_csi.arn
}
