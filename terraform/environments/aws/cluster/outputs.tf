output "region" {
  description = "AWS region of every resource in this layer."
  value       = local.region
}

output "cluster_name" {
  description = "EKS cluster name."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "EKS API server endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 PEM of the cluster CA, for the platform layer's providers."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig entry for this cluster."
  value       = "aws eks update-kubeconfig --region ${local.region} --name ${aws_eks_cluster.this.name}"
}

output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private (node) subnet ids, one per AZ."
  value       = aws_subnet.private[*].id
}

output "public_subnet_ids" {
  description = "Public (load balancer, NAT) subnet ids, one per AZ."
  value       = aws_subnet.public[*].id
}

output "loki_bucket_name" {
  description = "S3 bucket holding Loki chunks and index."
  value       = aws_s3_bucket.loki.bucket
}

output "loki_role_arn" {
  description = "IAM role Loki assumes through Pod Identity."
  value       = aws_iam_role.loki.arn
}

output "observability_namespace" {
  description = "Namespace the Loki Pod Identity association binds to; the platform layer must install Loki there."
  value       = var.observability_namespace
}

output "loki_service_account" {
  description = "Service account name the Loki Pod Identity association binds to."
  value       = var.loki_service_account
}

output "ecr_repository_urls" {
  description = "ECR repository URL per image name."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}
