# A standalone stack: no modules, only its own resources. It describes a pretend network as
# files, one per subnet, so that adding a subnet here is a one-file change trueup applies.

locals {
  dir = "${var.out_dir}/network"

  subnets = {
    public-a  = "10.0.0.0/24"
    public-b  = "10.0.1.0/24"
    private-a = "10.0.10.0/24"
    private-b = "10.0.11.0/24"
  }
}

resource "local_file" "subnet" {
  for_each = local.subnets

  filename             = "${local.dir}/subnets/${each.key}.cidr"
  file_permission      = "0644"
  directory_permission = "0755"
  content              = "${each.value}\n"
}

resource "local_file" "hosts" {
  filename             = "${local.dir}/hosts"
  file_permission      = "0644"
  directory_permission = "0755"
  content              = <<-HOSTS
    10.0.0.10   web.internal
    10.0.10.10  api.internal
  HOSTS
}

output "subnets" {
  description = "The subnets' CIDR blocks by name."
  value       = local.subnets
}
