# The VPC: in each availability zone one public subnet (the ALB and a NAT gateway) and one
# private subnet (everything else). The private subnets' route tables have no route to the
# internet gateway: their only way out is their zone's NAT gateway, and AWS APIs are reached
# through VPC endpoints (endpoints.tf).

resource "aws_vpc" "this" {
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = var.name }
}

resource "aws_subnet" "public" {
  count = length(var.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = var.azs[count.index]
  cidr_block        = cidrsubnet(var.cidr_block, 8, count.index)
  # The ALB and the NAT gateways get their addresses explicitly; nothing launched here gets one by accident.
  map_public_ip_on_launch = false

  tags = { Name = "${var.name}-public-${var.azs[count.index]}", Tier = "public" }
}

resource "aws_subnet" "private" {
  count = length(var.azs)

  vpc_id                  = aws_vpc.this.id
  availability_zone       = var.azs[count.index]
  cidr_block              = cidrsubnet(var.cidr_block, 8, count.index + 10)
  map_public_ip_on_launch = false

  tags = { Name = "${var.name}-private-${var.azs[count.index]}", Tier = "private" }
}

# Public route table: the only one with a route to the internet gateway.

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(var.azs)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# One NAT gateway per zone, so losing a zone does not cut the other zone's private subnet off.

resource "aws_eip" "nat" {
  count = length(var.azs)

  domain = "vpc"

  tags = { Name = "${var.name}-nat-${var.azs[count.index]}" }
}

resource "aws_nat_gateway" "this" {
  count = length(var.azs)

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${var.name}-${var.azs[count.index]}" }

  depends_on = [aws_internet_gateway.this]
}

# Private route tables, one per zone: the default route goes to the zone's NAT gateway, never to
# the internet gateway.

resource "aws_route_table" "private" {
  count = length(var.azs)

  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name}-private-${var.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  count = length(var.azs)

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[count.index].id
}

resource "aws_route_table_association" "private" {
  count = length(var.azs)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# The service's security group lives here, not in the app stack, because the data stack admits
# it and the app stack depends on the data stack: defining it first breaks the cycle. The app
# stack adds the rule that lets the load balancer in.
resource "aws_security_group" "service" {
  name        = "${var.name}-service"
  description = "The ECS service's tasks; Aurora and Redis admit only this group."
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-service" }
}

resource "aws_vpc_security_group_egress_rule" "service_all" {
  security_group_id = aws_security_group.service.id
  description       = "Out through the VPC endpoints, the NAT gateways and to the data stores."
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
