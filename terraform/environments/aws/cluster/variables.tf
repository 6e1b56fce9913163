variable "region" {
  description = "AWS region the cluster, bucket and registry live in."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region name, e.g. eu-west-1."
  }
}

variable "environment" {
  description = "Environment name, used in resource names and tags (e.g. dev, prod)."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,15}$", var.environment))
    error_message = "environment must be 2-16 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "name" {
  description = "Base name for every resource (cluster, bucket, repositories)."
  type        = string
  default     = "docproxy"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or dashes, starting with a letter."
  }
}

variable "availability_zone_suffixes" {
  description = "The three availability zones to spread subnets and nodes across, as suffixes of the region name."
  type        = list(string)
  default     = ["a", "b", "c"]

  validation {
    condition     = length(distinct(var.availability_zone_suffixes)) == 3 && alltrue([for s in var.availability_zone_suffixes : can(regex("^[a-z]$", s))])
    error_message = "availability_zone_suffixes must be three distinct single letters, e.g. [\"a\", \"b\", \"c\"]."
  }
}

variable "tags" {
  description = "Extra tags applied to every resource through the provider's default_tags."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC; private node subnets take three /19s, public subnets three /21s."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 16
    error_message = "vpc_cidr must be a valid IPv4 CIDR of size /16 or larger."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all AZs (cheaper, not AZ-fault-tolerant) instead of one per AZ."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS control-plane Kubernetes version."
  type        = string
  default     = "1.33"

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.33."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint. Empty (default) keeps the endpoint private-only, so the platform layer must run from inside the VPC (VPN, bastion, CI runner in the VPC)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be valid CIDRs and must not contain 0.0.0.0/0."
  }
}

variable "cluster_admin_principal_arns" {
  description = "IAM principal ARNs (roles or users) granted cluster-admin through EKS access entries, in addition to the identity that creates the cluster."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cluster_admin_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "cluster_admin_principal_arns must be IAM role or user ARNs."
  }
}

variable "node_instance_types" {
  description = "EC2 instance types for the managed node group."
  type        = list(string)
  default     = ["m6i.large"]

  validation {
    condition     = length(var.node_instance_types) > 0
    error_message = "node_instance_types needs at least one instance type."
  }
}

variable "node_group_size" {
  description = "Managed node group scaling: min, desired and max node counts."
  type = object({
    min     = number
    desired = number
    max     = number
  })
  default = { min = 3, desired = 3, max = 6 }

  validation {
    condition     = var.node_group_size.min >= 1 && var.node_group_size.min <= var.node_group_size.desired && var.node_group_size.desired <= var.node_group_size.max
    error_message = "node_group_size must satisfy 1 <= min <= desired <= max."
  }
}

variable "log_retention_days" {
  description = "Retention of the EKS control-plane and VPC flow log groups in CloudWatch."
  type        = number
  default     = 365

  validation {
    condition     = contains([365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch retention value of at least one year (365, 400, 545, 731, ...)."
  }
}

variable "loki_chunk_expiration_days" {
  description = "Days after which the bucket lifecycle rule deletes Loki chunks and index files (keep it at or above Loki's own retention)."
  type        = number
  default     = 90

  validation {
    condition     = var.loki_chunk_expiration_days >= 7 && var.loki_chunk_expiration_days <= 3650
    error_message = "loki_chunk_expiration_days must be between 7 and 3650."
  }
}

variable "loki_bucket_force_destroy" {
  description = "Allow `terraform destroy` to delete the Loki bucket while it still holds objects (demo clusters only)."
  type        = bool
  default     = false
}

variable "observability_namespace" {
  description = "Kubernetes namespace the platform layer installs Loki into (the Pod Identity association binds there)."
  type        = string
  default     = "monitoring"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.observability_namespace))
    error_message = "observability_namespace must be a valid Kubernetes namespace name."
  }
}

variable "loki_service_account" {
  description = "Name of Loki's Kubernetes service account (the Loki chart names it after the release: loki)."
  type        = string
  default     = "loki"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.loki_service_account))
    error_message = "loki_service_account must be a valid Kubernetes service account name."
  }
}

variable "ecr_repositories" {
  description = "ECR repositories to create, one per container image."
  type        = set(string)
  default     = ["docproxy", "dummy-pdf-or-png"]

  validation {
    condition     = alltrue([for r in var.ecr_repositories : can(regex("^[a-z0-9]+([._-][a-z0-9]+)*$", r))])
    error_message = "ecr_repositories must be lowercase repository names."
  }
}
