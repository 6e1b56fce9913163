# Account-level facts every other file needs: names, AZs, account id.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

data "aws_region" "current" {}

# The three AZs are named explicitly: a lookup of "whatever is available"
# could reorder or grow when AWS adds a zone and silently move subnets.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = [for s in var.availability_zone_suffixes : "${var.region}${s}"]
  }

  lifecycle {
    postcondition {
      condition     = length(self.names) == 3
      error_message = "All three availability zones in availability_zone_suffixes must exist and be available in the region."
    }
  }
}

locals {
  cluster_name = "${var.name}-${var.environment}"
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  region       = data.aws_region.current.name
  azs          = sort(data.aws_availability_zones.available.names)

  # Three /19 private subnets for nodes and pods, three /21 public subnets for
  # load balancers and NAT gateways.
  private_subnet_cidrs = [for i in range(3) : cidrsubnet(var.vpc_cidr, 3, i)]
  public_subnet_cidrs  = [for i in range(3) : cidrsubnet(var.vpc_cidr, 5, 24 + i)]
}
