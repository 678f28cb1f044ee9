data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# --- task role: what trueup itself may do ---
# Only assume the stacks' roles. Every AWS change Terraform makes is made as a stack role, which the stack's
# owners scope; trueup's own identity can change nothing. (It reaches the database with the DSN, not with IAM.)

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "trueup: assume the stack roles, nothing else"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "AssumeStackRoles"
    actions   = ["sts:AssumeRole", "sts:TagSession"]
    resources = var.stack_role_arns
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "assume-stack-roles"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- execution role: what ECS does to start the task ---
# Pull the image, write the log stream, read exactly trueup's secrets, the database's DSN among them: the execution
# role is the only one that may read it.

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "ECS agent for trueup: image, logs, secrets"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action supports no resource scoping
  }

  dynamic "statement" {
    for_each = local.ecr_repository_arn == null ? [] : [local.ecr_repository_arn]

    content {
      sid       = "PullTrueupImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.trueup.arn}:*"]
  }

  statement {
    sid       = "ReadTrueupSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = values(local.secrets)
  }

  dynamic "statement" {
    for_each = length(var.secrets_kms_key_arns) == 0 ? [] : [var.secrets_kms_key_arns]

    content {
      sid       = "DecryptTrueupSecrets"
      actions   = ["kms:Decrypt"]
      resources = statement.value

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "start-trueup"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}
