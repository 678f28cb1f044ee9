# trueup's store for two replicas: Aurora PostgreSQL Serverless v2 in the private subnets, reachable only from
# the trueup tasks. It holds what both replicas share: stacks, runs, holds, approvals, drift episodes, the
# outbox, plans, the leader's lease, and the Terraform state of stacks without a backend of their own.

resource "aws_db_subnet_group" "trueup" {
  name       = var.name
  subnet_ids = var.private_subnet_ids
}

# TLS only: trueup (pgx) and Terraform's pg backend (lib/pq, sslmode=require) both connect over TLS.
resource "aws_rds_cluster_parameter_group" "trueup" {
  name_prefix = "${var.name}-"
  family      = "aurora-postgresql${split(".", var.db_engine_version)[0]}"
  description = "trueup: TLS only"

  parameter {
    name         = "rds.force_ssl"
    value        = "1"
    apply_method = "pending-reboot"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# No special characters: the password goes into a URL unescaped, and RDS refuses some of them.
resource "random_password" "database" {
  length  = 40
  special = false
}

resource "aws_rds_cluster" "trueup" {
  cluster_identifier              = var.name
  engine                          = "aurora-postgresql"
  engine_mode                     = "provisioned" # Serverless v2 is a provisioned cluster of db.serverless instances
  engine_version                  = var.db_engine_version
  database_name                   = "trueup"
  master_username                 = "trueup"
  master_password                 = random_password.database.result
  port                            = local.db_port
  db_subnet_group_name            = aws_db_subnet_group.trueup.name
  vpc_security_group_ids          = [aws_security_group.db.id]
  db_cluster_parameter_group_name = aws_rds_cluster_parameter_group.trueup.name

  storage_encrypted   = true
  kms_key_id          = var.db_kms_key_arn
  deletion_protection = true

  backup_retention_period   = var.db_backup_retention_days
  preferred_backup_window   = "03:00-04:00"
  copy_tags_to_snapshot     = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${var.name}-final"

  enabled_cloudwatch_logs_exports = ["postgresql"]

  # The leader renews its lease every lease_ttl/3, so the database never idles: a minimum of 0 (auto-pause)
  # would save nothing.
  serverlessv2_scaling_configuration {
    min_capacity = var.db_min_capacity
    max_capacity = var.db_max_capacity
  }
}

# The writer, and with db_instances = 2 a reader in another zone that Aurora promotes if the writer's zone
# fails. A database failover takes longer than a 15s lease: the leader steps down, and a replica leads again
# once the database answers.
resource "aws_rds_cluster_instance" "trueup" {
  count = var.db_instances

  identifier                 = "${var.name}-${count.index + 1}"
  cluster_identifier         = aws_rds_cluster.trueup.id
  instance_class             = "db.serverless"
  engine                     = aws_rds_cluster.trueup.engine
  engine_version             = aws_rds_cluster.trueup.engine_version
  db_subnet_group_name       = aws_db_subnet_group.trueup.name
  availability_zone          = local.azs[count.index % length(local.azs)]
  publicly_accessible        = false
  auto_minor_version_upgrade = true
  promotion_tier             = count.index
}

# The DSN trueup reads as TRUEUP_DATABASE_URL (ECS injects it; only the execution role may read it). A URL both
# pgx and lib/pq understand; trueup passes it to Terraform's pg backend as PG_CONN_STR, in trusted runs only.
resource "aws_secretsmanager_secret" "database" {
  name_prefix             = "${var.name}/database-url-"
  description             = "trueup's PostgreSQL connection string (TRUEUP_DATABASE_URL)"
  recovery_window_in_days = 7
}

resource "aws_secretsmanager_secret_version" "database" {
  secret_id = aws_secretsmanager_secret.database.id
  secret_string = format(
    "postgres://%s:%s@%s:%d/%s?sslmode=require",
    aws_rds_cluster.trueup.master_username,
    random_password.database.result,
    aws_rds_cluster.trueup.endpoint,
    local.db_port,
    aws_rds_cluster.trueup.database_name,
  )
}
