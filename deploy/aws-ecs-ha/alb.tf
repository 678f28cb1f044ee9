# The only way in: HTTPS, and only POST /webhooks/github reaches trueup. Everything else (/api/v1, /metrics,
# the probes) answers 404 at the load balancer, so it is reachable only from inside the VPC.

resource "aws_lb" "webhooks" {
  name                       = "${var.name}-webhooks"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection
}

resource "aws_lb_target_group" "trueup" {
  name        = "${var.name}-http"
  vpc_id      = var.vpc_id
  target_type = "ip"
  protocol    = "HTTP"
  port        = local.port

  # Either task takes a webhook (a standby records it and wakes the leader); a stopping task drains briefly.
  deregistration_delay = 10

  # /healthz, not /readyz: ECS replaces a task that fails this check, and a leader is not ready while its
  # git remote is down, which a new task would not cure.
  health_check {
    path                = "/healthz"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.webhooks.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "not found"
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "webhooks" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.trueup.arn
  }

  condition {
    path_pattern {
      values = ["/webhooks/github"]
    }
  }

  condition {
    http_request_method {
      values = ["POST"]
    }
  }
}
