package examples_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"
)

// repoFS makes a repository from file contents.
func repoFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return fsys
}

// A network module and a stack over it, for the fixtures that need private subnets to point at.
const (
	fixtureNetwork = `
resource "aws_subnet" "private" {
  count                   = 2
  map_public_ip_on_launch = false
}
resource "aws_subnet" "public" {
  count = 2
}
output "private_subnet_ids" { value = aws_subnet.private[*].id }
output "public_subnet_ids" { value = aws_subnet.public[*].id }
`
	fixtureNetworkStack = `
terraform {
  backend "s3" { key = "network.tfstate" }
}
module "network" { source = "../../modules/network" }
output "private_subnet_ids" { value = module.network.private_subnet_ids }
output "public_subnet_ids" { value = module.network.public_subnet_ids }
`
)

// withNetwork adds the network fixture to a repository's files.
func withNetwork(files map[string]string) map[string]string {
	files["modules/network/main.tf"] = fixtureNetwork
	files["stacks/network/main.tf"] = fixtureNetworkStack
	return files
}

// TestChecksCatchViolations feeds each check a small repository that breaks its invariant and
// expects the check to name the problem. (The real examples passing is the other half.)
func TestChecksCatchViolations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		check   func(*tfRepo) error
		wantErr string
	}{
		{
			name:    "module source names a directory without .tf files",
			files:   map[string]string{"stacks/a/main.tf": `module "x" { source = "../../modules/nope" }`},
			check:   checkModuleSources,
			wantErr: `no .tf files in modules/nope`,
		},
		{
			name:    "module source leaves the repository",
			files:   map[string]string{"stacks/a/main.tf": `module "x" { source = "../../../elsewhere" }`},
			check:   checkModuleSources,
			wantErr: `leaves the repository`,
		},
		{
			name: "Aurora's subnet group uses the public subnets",
			files: withNetwork(map[string]string{"stacks/data/main.tf": `
module "network" { source = "../../modules/network" }
resource "aws_db_subnet_group" "this" { subnet_ids = module.network.public_subnet_ids }
resource "aws_rds_cluster" "this" { db_subnet_group_name = aws_db_subnet_group.this.name }
`}),
			check:   checkPrivateData,
			wantErr: `"public_subnet_ids" does not name private subnets`,
		},
		{
			name: "a module variable named private is given the public subnets through remote state",
			files: withNetwork(map[string]string{
				"modules/redis/main.tf": `
variable "private_subnet_ids" {}
resource "aws_elasticache_subnet_group" "this" { subnet_ids = var.private_subnet_ids }
resource "aws_elasticache_replication_group" "this" { subnet_group_name = aws_elasticache_subnet_group.this.name }
`,
				"stacks/data/main.tf": `
data "terraform_remote_state" "network" {
  backend = "s3"
  config  = { key = "network.tfstate" }
}
module "redis" {
  source             = "../../modules/redis"
  private_subnet_ids = data.terraform_remote_state.network.outputs.public_subnet_ids
}
`}),
			check:   checkPrivateData,
			wantErr: `"public_subnet_ids" does not name private subnets`,
		},
		{
			name: "remote state that no stack writes",
			files: withNetwork(map[string]string{"stacks/data/main.tf": `
data "terraform_remote_state" "network" {
  backend = "s3"
  config  = { key = "other.tfstate" }
}
resource "aws_db_subnet_group" "this" { subnet_ids = data.terraform_remote_state.network.outputs.private_subnet_ids }
`}),
			check:   checkPrivateData,
			wantErr: `no stack's s3 backend has key "other.tfstate"`,
		},
		{
			name: "a private subnet that gives public addresses",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_subnet" "private" { map_public_ip_on_launch = true }
resource "aws_db_subnet_group" "this" { subnet_ids = [aws_subnet.private.id] }
`},
			check:   checkPrivateData,
			wantErr: `aws_subnet.private may give public addresses`,
		},
		{
			name:    "literal subnet IDs cannot be checked",
			files:   map[string]string{"stacks/a/main.tf": `resource "aws_db_subnet_group" "this" { subnet_ids = ["subnet-0123"] }`},
			check:   checkPrivateData,
			wantErr: `a literal value cannot be traced`,
		},
		{
			name:    "an Aurora cluster without a subnet group lands in the default VPC's subnets",
			files:   map[string]string{"stacks/a/main.tf": `resource "aws_rds_cluster" "this" { engine = "aurora-postgresql" }`},
			check:   checkPrivateData,
			wantErr: `aws_rds_cluster.this: db_subnet_group_name is not set`,
		},
		{
			name: "ECS tasks in the public subnets",
			files: withNetwork(map[string]string{"stacks/app/main.tf": `
module "network" { source = "../../modules/network" }
resource "aws_ecs_service" "this" {
  network_configuration { subnets = module.network.public_subnet_ids }
}
`}),
			check:   checkPrivateData,
			wantErr: `aws_ecs_service.this subnets`,
		},
		{
			name: "Aurora's security group admits a CIDR block",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_security_group" "service" {}
resource "aws_security_group" "db" {}
resource "aws_vpc_security_group_ingress_rule" "db" {
  security_group_id            = aws_security_group.db.id
  referenced_security_group_id = aws_security_group.service.id
  cidr_ipv4                    = "10.0.0.0/16"
}
resource "aws_rds_cluster" "this" { vpc_security_group_ids = [aws_security_group.db.id] }
`},
			check:   checkDataAccess,
			wantErr: `aws_vpc_security_group_ingress_rule.db: cidr_ipv4 admits more than the service`,
		},
		{
			name: "Redis's security group admits the load balancer",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_security_group" "alb" {}
resource "aws_security_group" "cache" {
  ingress { security_groups = [aws_security_group.alb.id] }
}
resource "aws_elasticache_replication_group" "this" { security_group_ids = [aws_security_group.cache.id] }
`},
			check:   checkDataAccess,
			wantErr: `aws_security_group.alb is not the service's security group`,
		},
		{
			name: "a private route table with a route to the internet gateway",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_internet_gateway" "this" {}
resource "aws_nat_gateway" "this" {}
resource "aws_route_table" "private" {}
resource "aws_route" "nat" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this.id
}
resource "aws_route" "leak" {
  route_table_id         = aws_route_table.private.id
  destination_cidr_block = "1.2.3.0/24"
  gateway_id             = aws_internet_gateway.this.id
}
`},
			check:   checkPrivateRoutes,
			wantErr: `goes to a gateway (aws_internet_gateway.this.id)`,
		},
		{
			name: "a table associated with a private subnet routes by default to the internet gateway",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_internet_gateway" "this" {}
resource "aws_subnet" "private" {}
resource "aws_route_table" "main" {
  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this.id
  }
}
resource "aws_route_table_association" "private" {
  subnet_id      = aws_subnet.private.id
  route_table_id = aws_route_table.main.id
}
`},
			check:   checkPrivateRoutes,
			wantErr: `aws_route_table.main: route at`,
		},
		{
			name:    "a private route table without a way out",
			files:   map[string]string{"stacks/a/main.tf": `resource "aws_route_table" "private" {}`},
			check:   checkPrivateRoutes,
			wantErr: `no default route (0.0.0.0/0) to a NAT gateway`,
		},
		{
			name: "objects archived after 30 days, set by the caller over the module's default",
			files: map[string]string{
				"modules/bucket/main.tf": `
variable "days" { default = 90 }
resource "aws_s3_bucket" "this" {}
resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}
resource "aws_s3_bucket_server_side_encryption_configuration" "this" { bucket = aws_s3_bucket.this.id }
resource "aws_s3_bucket_lifecycle_configuration" "this" {
  rule {
    status = "Enabled"
    transition {
      days          = var.days
      storage_class = "DEEP_ARCHIVE"
    }
  }
}
`,
				"stacks/a/main.tf": `
module "bucket" {
  source = "../../modules/bucket"
  days   = 30
}
`},
			check:   checkBuckets,
			wantErr: `no enabled lifecycle rule transitions objects to DEEP_ARCHIVE after 90 days`,
		},
		{
			name: "a bucket whose public access is not blocked",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_s3_bucket" "this" {}
resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = false
  ignore_public_acls      = true
  restrict_public_buckets = true
}
`},
			check:   checkBuckets,
			wantErr: `aws_s3_bucket.this: block_public_policy is not true`,
		},
		{
			name: "half a vCPU, through a local",
			files: map[string]string{"stacks/a/main.tf": `
locals { size = { cpu = "512", memory = "2048" } }
resource "aws_ecs_task_definition" "this" {
  requires_compatibilities = ["FARGATE"]
  cpu                      = local.size.cpu
  memory                   = local.size.memory
}
`},
			check:   checkService,
			wantErr: `aws_ecs_task_definition.this cpu is 512, want 1024`,
		},
		{
			name: "autoscaling to 20 tasks",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_appautoscaling_target" "this" {
  min_capacity = 2
  max_capacity = 20
}
`},
			check:   checkService,
			wantErr: `aws_appautoscaling_target.this max_capacity is 20, want 10`,
		},
		{
			name: "step scaling on memory",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_appautoscaling_policy" "this" {
  policy_type = "StepScaling"
  target_tracking_scaling_policy_configuration {
    predefined_metric_specification { predefined_metric_type = "ECSServiceAverageMemoryUtilization" }
  }
}
`},
			check:   checkService,
			wantErr: `tracks "ECSServiceAverageMemoryUtilization", want ECSServiceAverageCPUUtilization`,
		},
		{
			name: "Secrets Manager reached through the NAT gateway",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_vpc_endpoint" "s3" {
  service_name      = "com.amazonaws.${var.region}.s3"
  vpc_endpoint_type = "Gateway"
}
variable "endpoints" { default = ["ecr.api", "ecr.dkr", "logs"] }
resource "aws_vpc_endpoint" "interface" {
  for_each          = var.endpoints
  service_name      = "com.amazonaws.${var.region}.${each.key}"
  vpc_endpoint_type = "Interface"
}
resource "aws_guardduty_detector" "this" {}
resource "aws_securityhub_account" "this" {}
`},
			check:   checkEndpointsAndDetection,
			wantErr: `no Interface VPC endpoint for secretsmanager`,
		},
		{
			name: "no GuardDuty",
			files: map[string]string{"stacks/a/main.tf": `
resource "aws_guardduty_detector" "this" { enable = false }
`},
			check:   checkEndpointsAndDetection,
			wantErr: `no enabled aws_guardduty_detector`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := loadRepo(repoFS(tc.files))
			require.NoError(t, err)
			err = tc.check(r)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestLoadRepoRejectsDiagnostics(t *testing.T) {
	_, err := loadRepo(repoFS(map[string]string{"stacks/a/main.tf": `resource "x" "y" { a = }`}))
	require.ErrorContains(t, err, "parse stacks/a/main.tf")
}

func TestTrueupConfigViolations(t *testing.T) {
	stack := `
resource "aws_ecs_cluster" "this" { name = var.name }
resource "aws_ecs_service" "this" { name = var.name }
variable "name" { default = "app" }
`
	good := `
stacks:
  - dir: stacks/app
    aws: {role_arn: arn:aws:iam::1:role/plan, apply_role_arn: arn:aws:iam::1:role/apply, region: eu-west-1, session_duration: 1h}
    on_apply: {ecs_redeploy: {cluster: app, service: app}}
`
	for _, tc := range []struct {
		name    string
		yaml    string
		wantErr string // "" for none
	}{
		{"good", good, ""},
		{"unknown key", good + "    drfit: {remediate: auto}\n", "field drfit not found"},
		{"a dir that is no stack", good + "  - dir: stacks/gone\n    aws: {role_arn: a, apply_role_arn: b, region: eu-west-1, session_duration: 1h}\n", "stacks[1] (stacks/gone): dir is not a stack"},
		{"plan and apply with one role", `
stacks:
  - dir: stacks/app
    aws: {role_arn: arn:aws:iam::1:role/admin, apply_role_arn: arn:aws:iam::1:role/admin, region: eu-west-1, session_duration: 1h}
`, "must both be set, and differ"},
		{"a session longer than STS allows", `
stacks:
  - dir: stacks/app
    aws: {role_arn: a, apply_role_arn: b, region: eu-west-1, session_duration: 24h}
`, "not between 15m and 12h"},
		{"redeploy of a cluster the stack does not make", `
stacks:
  - dir: stacks/app
    aws: {role_arn: a, apply_role_arn: b, region: eu-west-1, session_duration: 1h}
    on_apply: {ecs_redeploy: {cluster: other, service: app}}
`, `no ECS cluster named "other"`},
		{"a stack left out", "stacks: []\n", "stack stacks/app is not listed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := repoFS(map[string]string{"stacks/app/main.tf": stack, ".trueup.yaml": tc.yaml})
			r, err := loadRepo(fsys)
			require.NoError(t, err)
			err = checkTrueupConfig(fsys, r)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// TestAWSStartupMutations breaks the real aws-startup files one way at a time and expects the
// checks to notice: the references are traced through the real modules, stacks and remote state.
func TestAWSStartupMutations(t *testing.T) {
	for _, tc := range []struct {
		name     string
		file     string
		old, new string
		check    func(*tfRepo) error
		wantErr  string
	}{
		{
			name: "the network's private_subnet_ids output gives the public subnets",
			file: "modules/network/outputs.tf",
			old:  "value       = aws_subnet.private[*].id", new: "value       = aws_subnet.public[*].id",
			check: checkPrivateData, wantErr: "aws_subnet.public is not a private subnet",
		},
		{
			name: "the private route tables default to the internet gateway",
			file: "modules/network/main.tf",
			old:  "nat_gateway_id         = aws_nat_gateway.this[count.index].id", new: "gateway_id = aws_internet_gateway.this.id",
			check: checkPrivateRoutes, wantErr: "a private table must not reach the internet gateway",
		},
		{
			name: "Aurora admits the internet",
			file: "modules/aurora/main.tf",
			old:  "referenced_security_group_id = var.service_security_group_id", new: `cidr_ipv4 = "0.0.0.0/0"`,
			check: checkDataAccess, wantErr: "cidr_ipv4 admits more than the service",
		},
		{
			name: "the data stack archives after 30 days",
			file: "stacks/data/main.tf",
			old:  "archive_after_days = 90", new: "archive_after_days = 30",
			check: checkBuckets, wantErr: "after 90 days",
		},
		{
			name: "the app stack scales to 12 tasks",
			file: "stacks/app/main.tf",
			old:  "max_capacity = 10", new: "max_capacity = 12",
			check: checkService, wantErr: "max_capacity is 12, want 10",
		},
		{
			name: "the app stack asks for 4 GB",
			file: "stacks/app/main.tf",
			old:  "memory       = 2048", new: "memory       = 4096",
			check: checkService, wantErr: "memory is 4096, want 2048",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			dir := examplesDir(t, "aws-startup")
			require.NoError(t, fs.WalkDir(os.DirFS(dir), ".", func(name string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := fs.ReadFile(os.DirFS(dir), name)
				fsys[name] = &fstest.MapFile{Data: data}
				return err
			}))
			require.Contains(t, fsys, tc.file)
			content := string(fsys[tc.file].Data)
			require.Contains(t, content, tc.old, "the mutation no longer applies to %s", tc.file)
			fsys[tc.file].Data = []byte(strings.Replace(content, tc.old, tc.new, 1))
			r, err := loadRepo(fsys)
			require.NoError(t, err)
			require.ErrorContains(t, tc.check(r), tc.wantErr)
		})
	}
}
