# trueup's data dir. EFS rather than the task's ephemeral storage: the store (last applied revision, plans,
# drift state), the git mirror and the state of stacks without a backend must survive task replacement.

resource "aws_efs_file_system" "data" {
  creation_token   = "${var.name}-data"
  encrypted        = true
  performance_mode = "generalPurpose"
  throughput_mode  = "elastic"

  tags = { Name = "${var.name}-data" }
}

resource "aws_efs_backup_policy" "data" {
  file_system_id = aws_efs_file_system.data.id

  backup_policy {
    status = "ENABLED"
  }
}

resource "aws_efs_mount_target" "data" {
  for_each = toset(var.private_subnet_ids)

  file_system_id  = aws_efs_file_system.data.id
  subnet_id       = each.value
  security_groups = [aws_security_group.efs.id]
}

# The access point makes every client uid/gid 10001 (the image's trueup user) and roots it in /trueup,
# created with that owner on first mount.
resource "aws_efs_access_point" "data" {
  file_system_id = aws_efs_file_system.data.id

  posix_user {
    uid = local.uid
    gid = local.uid
  }

  root_directory {
    path = "/trueup"

    creation_info {
      owner_uid   = local.uid
      owner_gid   = local.uid
      permissions = "0750"
    }
  }

  tags = { Name = "${var.name}-data" }
}

# Mount permission lives here, on the file system, so the task role's identity policy stays sts:AssumeRole
# only: the task role may mount read-write through the access point, over TLS, and nobody else may mount.
data "aws_iam_policy_document" "efs" {
  statement {
    sid       = "TrueupThroughAccessPoint"
    actions   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    resources = [aws_efs_file_system.data.arn]

    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.task.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "elasticfilesystem:AccessPointArn"
      values   = [aws_efs_access_point.data.arn]
    }
  }

  statement {
    sid       = "DenyWithoutTLS"
    effect    = "Deny"
    actions   = ["*"]
    resources = [aws_efs_file_system.data.arn]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_efs_file_system_policy" "data" {
  file_system_id = aws_efs_file_system.data.id
  policy         = data.aws_iam_policy_document.efs.json
}
