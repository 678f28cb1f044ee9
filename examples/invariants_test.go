package examples_test

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// The invariants of the seed article's architecture. Each check returns every violation it finds,
// joined, and an error when the repository has nothing it could check (so a renamed resource type
// cannot make a check pass by finding nothing).

// checkModuleSources: every local module source names a directory of the repository that holds
// .tf files, without leaving the repository.
func checkModuleSources(r *tfRepo) error {
	var errs []error
	for _, dir := range r.dirs() {
		m := r.mods[dir]
		for _, b := range m.all("module") {
			src, ok := moduleSource(b)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: module.%s: source must be a literal string", dir, b.Labels[0]))
				continue
			}
			target, local := localSource(m, b)
			switch {
			case !local:
				continue // registry or remote: not this repository's to check
			case target == ".." || strings.HasPrefix(target, "../"):
				errs = append(errs, fmt.Errorf("%s: module.%s: source %q leaves the repository", dir, b.Labels[0], src))
			case r.mods[target] == nil:
				errs = append(errs, fmt.Errorf("%s: module.%s: source %q: no .tf files in %s", dir, b.Labels[0], src, target))
			}
		}
	}
	return errors.Join(errs...)
}

// privateSubnets is the tracer for values that must be private subnets: every variable and output
// on the way is named "private..." (never "public"), and the value ends at aws_subnet resources
// named private that give no public addresses, possibly through a subnet group.
var privateSubnets = tracer{
	name: func(step string) error {
		if !strings.Contains(step, "private") || strings.Contains(step, "public") {
			return fmt.Errorf("%q does not name private subnets", step)
		}
		return nil
	},
	resource: func(s *scope, b *hclsyntax.Block) ([]hclsyntax.Expression, error) {
		switch b.Labels[0] {
		case "aws_subnet":
			name := b.Labels[1]
			if !strings.Contains(name, "private") || strings.Contains(name, "public") {
				return nil, fmt.Errorf("aws_subnet.%s is not a private subnet", name)
			}
			if e := attr(b, "map_public_ip_on_launch"); e != nil {
				if v, err := s.eval(e); err != nil || !v.Type().Equals(cty.Bool) || v.True() {
					return nil, fmt.Errorf("aws_subnet.%s may give public addresses (map_public_ip_on_launch)", name)
				}
			}
			return nil, nil
		case "aws_db_subnet_group", "aws_elasticache_subnet_group":
			if attr(b, "subnet_ids") == nil {
				return nil, fmt.Errorf("%s.%s has no subnet_ids", b.Labels[0], b.Labels[1])
			}
			return []hclsyntax.Expression{attr(b, "subnet_ids")}, nil
		}
		return nil, fmt.Errorf("cannot tell whether %s.%s is private", b.Labels[0], b.Labels[1])
	},
}

// checkPrivateData: Aurora, its subnet groups, ElastiCache and the ECS service are placed only in
// private subnets, traced from the resource to the aws_subnet resources in the network module.
func checkPrivateData(r *tfRepo) error {
	placements := []struct {
		typ   string
		block string // nested block holding the attribute, "" for the resource itself
		attr  string
	}{
		{"aws_rds_cluster", "", "db_subnet_group_name"},
		{"aws_db_subnet_group", "", "subnet_ids"},
		{"aws_elasticache_replication_group", "", "subnet_group_name"},
		{"aws_elasticache_subnet_group", "", "subnet_ids"},
		{"aws_ecs_service", "network_configuration", "subnets"},
	}
	var errs []error
	for _, p := range placements {
		found := 0
		for _, s := range r.scopes() {
			for _, b := range s.mod.all("resource", p.typ) {
				found++
				holder := b
				if p.block != "" {
					if ns := nested(b, p.block); len(ns) == 1 {
						holder = ns[0]
					} else {
						errs = append(errs, fmt.Errorf("%s: %s.%s: want one %s block", s.where(), p.typ, b.Labels[1], p.block))
						continue
					}
				}
				e := attr(holder, p.attr)
				if e == nil {
					errs = append(errs, fmt.Errorf("%s: %s.%s: %s is not set, so AWS picks the default subnets", s.where(), p.typ, b.Labels[1], p.attr))
					continue
				}
				if err := privateSubnets.trace(s, e); err != nil {
					errs = append(errs, fmt.Errorf("%s.%s %s: %w", p.typ, b.Labels[1], p.attr, err))
				}
			}
		}
		if found == 0 {
			errs = append(errs, fmt.Errorf("no %s in any stack", p.typ))
		}
	}
	return errors.Join(errs...)
}

// serviceGroup is the tracer for a security group that may be admitted to a data store: every
// step names the service, and the value ends at an aws_security_group named for the service.
var serviceGroup = tracer{
	name: func(step string) error {
		if !strings.Contains(step, "service") {
			return fmt.Errorf("%q does not name the service's security group", step)
		}
		return nil
	},
	resource: func(s *scope, b *hclsyntax.Block) ([]hclsyntax.Expression, error) {
		if b.Labels[0] != "aws_security_group" || !strings.Contains(b.Labels[1], "service") {
			return nil, fmt.Errorf("%s.%s is not the service's security group", b.Labels[0], b.Labels[1])
		}
		return nil, nil
	},
}

// openings are the attributes of a security group rule that admit addresses rather than a group.
var openings = []string{"cidr_ipv4", "cidr_ipv6", "prefix_list_id", "cidr_blocks", "ipv6_cidr_blocks", "prefix_list_ids", "self"}

// checkDataAccess: the security groups of Aurora and ElastiCache admit only the service's
// security group, and at least one rule does.
func checkDataAccess(r *tfRepo) error {
	var errs []error
	found := 0
	for _, s := range r.scopes() {
		for typ, groupsAttr := range map[string]string{"aws_rds_cluster": "vpc_security_group_ids", "aws_elasticache_replication_group": "security_group_ids"} {
			for _, b := range s.mod.all("resource", typ) {
				found++
				where := fmt.Sprintf("%s: %s.%s", s.where(), typ, b.Labels[1])
				groups := attr(b, groupsAttr)
				if groups == nil {
					errs = append(errs, fmt.Errorf("%s: %s not set: the VPC's default group would apply", where, groupsAttr))
					continue
				}
				for _, t := range groups.Variables() {
					if t.RootName() != "aws_security_group" {
						errs = append(errs, fmt.Errorf("%s: %s: want a security group of this module", where, traversalString(t)))
						continue
					}
					if err := checkIngress(s, step(t, 1)); err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", where, err))
					}
				}
			}
		}
	}
	if found == 0 {
		errs = append(errs, errors.New("no aws_rds_cluster or aws_elasticache_replication_group in any stack"))
	}
	return errors.Join(errs...)
}

// checkIngress checks every ingress rule of aws_security_group.name in s (inline, aws_security_group_rule,
// aws_vpc_security_group_ingress_rule): each admits only the service's group.
func checkIngress(s *scope, name string) error {
	sg := s.mod.one("resource", "aws_security_group", name)
	if sg == nil {
		return fmt.Errorf("no aws_security_group.%s", name)
	}
	type rule struct {
		what   string
		b      *hclsyntax.Block
		source string
	}
	var rules []rule
	for _, b := range nested(sg, "ingress") {
		rules = append(rules, rule{"inline ingress of aws_security_group." + name, b, "security_groups"})
	}
	for _, b := range s.mod.all("resource", "aws_vpc_security_group_ingress_rule") {
		if refersTo(attr(b, "security_group_id"), "aws_security_group", name) {
			rules = append(rules, rule{"aws_vpc_security_group_ingress_rule." + b.Labels[1], b, "referenced_security_group_id"})
		}
	}
	for _, b := range s.mod.all("resource", "aws_security_group_rule") {
		if t, _ := s.str(attr(b, "type")); t == "ingress" && refersTo(attr(b, "security_group_id"), "aws_security_group", name) {
			rules = append(rules, rule{"aws_security_group_rule." + b.Labels[1], b, "source_security_group_id"})
		}
	}
	if len(rules) == 0 {
		return fmt.Errorf("aws_security_group.%s admits nothing: the service could not connect", name)
	}
	var errs []error
	for _, r := range rules {
		for _, o := range openings {
			if attr(r.b, o) != nil {
				errs = append(errs, fmt.Errorf("%s: %s admits more than the service", r.what, o))
			}
		}
		src := attr(r.b, r.source)
		if src == nil {
			errs = append(errs, fmt.Errorf("%s: %s not set", r.what, r.source))
			continue
		}
		if err := serviceGroup.trace(s, src); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.what, err))
		}
	}
	return errors.Join(errs...)
}

// checkPrivateRoutes: no route of a private route table (named private, or associated with a
// private subnet) goes to an internet gateway, and each one's default route goes to a NAT gateway.
func checkPrivateRoutes(r *tfRepo) error {
	var errs []error
	tables := 0
	for _, s := range r.scopes() {
		private := map[string]bool{}
		for _, b := range s.mod.all("resource", "aws_route_table") {
			if strings.Contains(b.Labels[1], "private") {
				private[b.Labels[1]] = true
			}
		}
		for _, a := range s.mod.all("resource", "aws_route_table_association") {
			if !refersToPrivateSubnet(attr(a, "subnet_id")) {
				continue
			}
			for _, t := range attr(a, "route_table_id").Variables() {
				if t.RootName() == "aws_route_table" {
					private[step(t, 1)] = true
				}
			}
		}
		names := make([]string, 0, len(private))
		for n := range private {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, table := range names {
			tables++
			where := fmt.Sprintf("%s: aws_route_table.%s", s.where(), table)
			tb := s.mod.one("resource", "aws_route_table", table)
			if tb == nil {
				errs = append(errs, fmt.Errorf("%s: no such resource", where))
				continue
			}
			routes := nested(tb, "route")
			for _, rb := range s.mod.all("resource", "aws_route") {
				if refersTo(attr(rb, "route_table_id"), "aws_route_table", table) {
					routes = append(routes, rb)
				}
			}
			natDefault := false
			for _, rb := range routes {
				if gw := attr(rb, "gateway_id"); gw != nil && !refersTo(gw, "aws_vpn_gateway") && !refersTo(gw, "aws_vpc_endpoint") {
					errs = append(errs, fmt.Errorf("%s: route at %s goes to a gateway (%s): a private table must not reach the internet gateway", where, rb.DefRange(), exprText(gw)))
				}
				if dst, err := s.str(attr(rb, "destination_cidr_block")); err == nil && dst == "0.0.0.0/0" && attr(rb, "nat_gateway_id") != nil {
					natDefault = true
				}
			}
			if !natDefault {
				errs = append(errs, fmt.Errorf("%s: no default route (0.0.0.0/0) to a NAT gateway", where))
			}
		}
	}
	if tables == 0 {
		errs = append(errs, errors.New("no private route table in any stack"))
	}
	return errors.Join(errs...)
}

func refersToPrivateSubnet(e hclsyntax.Expression) bool {
	if e == nil {
		return false
	}
	for _, t := range e.Variables() {
		if t.RootName() == "aws_subnet" && strings.Contains(step(t, 1), "private") {
			return true
		}
	}
	return false
}

// exprText renders an expression's references for messages.
func exprText(e hclsyntax.Expression) string {
	var refs []string
	for _, t := range e.Variables() {
		refs = append(refs, traversalString(t))
	}
	if len(refs) == 0 {
		return "a literal"
	}
	return strings.Join(refs, ", ")
}

// checkBuckets: a lifecycle rule moves objects to DEEP_ARCHIVE after 90 days, and every bucket
// has a public access block blocking everything and default encryption.
func checkBuckets(r *tfRepo) error {
	var errs []error
	archived, buckets := 0, 0
	for _, s := range r.scopes() {
		for _, lc := range s.mod.all("resource", "aws_s3_bucket_lifecycle_configuration") {
			for _, rule := range nested(lc, "rule") {
				if st, _ := s.str(attr(rule, "status")); st != "Enabled" {
					continue
				}
				for _, tr := range nested(rule, "transition") {
					days, err := s.number(attr(tr, "days"))
					class, err2 := s.str(attr(tr, "storage_class"))
					if err != nil || err2 != nil {
						errs = append(errs, fmt.Errorf("%s: transition at %s: %w", s.where(), tr.DefRange(), errors.Join(err, err2)))
						continue
					}
					if class == "DEEP_ARCHIVE" && days == 90 {
						archived++
					}
				}
			}
		}
		for _, b := range s.mod.all("resource", "aws_s3_bucket") {
			buckets++
			errs = append(errs, checkBucketGuards(s, b.Labels[1]))
		}
	}
	if archived == 0 {
		errs = append(errs, errors.New("no enabled lifecycle rule transitions objects to DEEP_ARCHIVE after 90 days"))
	}
	if buckets == 0 {
		errs = append(errs, errors.New("no aws_s3_bucket in any stack"))
	}
	return errors.Join(errs...)
}

func checkBucketGuards(s *scope, bucket string) error {
	var errs []error
	forBucket := func(typ string) *hclsyntax.Block {
		for _, b := range s.mod.all("resource", typ) {
			if refersTo(attr(b, "bucket"), "aws_s3_bucket", bucket) {
				return b
			}
		}
		errs = append(errs, fmt.Errorf("%s: aws_s3_bucket.%s has no %s", s.where(), bucket, typ))
		return nil
	}
	if pab := forBucket("aws_s3_bucket_public_access_block"); pab != nil {
		for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
			v, err := s.eval(attr(pab, a))
			if attr(pab, a) == nil || err != nil || !v.Type().Equals(cty.Bool) || !v.True() {
				errs = append(errs, fmt.Errorf("%s: aws_s3_bucket.%s: %s is not true", s.where(), bucket, a))
			}
		}
	}
	forBucket("aws_s3_bucket_server_side_encryption_configuration")
	return errors.Join(errs...)
}

// checkService: the Fargate task has 1 vCPU and 2 GB, and autoscaling tracks average CPU between
// 2 and 10 tasks.
func checkService(r *tfRepo) error {
	var errs []error
	want := func(s *scope, b *hclsyntax.Block, name string, n float64) {
		v, err := s.number(attr(b, name))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %s.%s %s: %w", s.where(), b.Labels[0], b.Labels[1], name, err))
		case v != n:
			errs = append(errs, fmt.Errorf("%s: %s.%s %s is %v, want %v", s.where(), b.Labels[0], b.Labels[1], name, v, n))
		}
	}
	tasks, targets, policies := 0, 0, 0
	for _, s := range r.scopes() {
		for _, b := range s.mod.all("resource", "aws_ecs_task_definition") {
			tasks++
			want(s, b, "cpu", 1024)
			want(s, b, "memory", 2048)
			if v, err := s.eval(attr(b, "requires_compatibilities")); err != nil || !hasString(v, "FARGATE") {
				errs = append(errs, fmt.Errorf("%s: aws_ecs_task_definition.%s: requires_compatibilities lacks FARGATE", s.where(), b.Labels[1]))
			}
		}
		for _, b := range s.mod.all("resource", "aws_appautoscaling_target") {
			targets++
			want(s, b, "min_capacity", 2)
			want(s, b, "max_capacity", 10)
		}
		for _, b := range s.mod.all("resource", "aws_appautoscaling_policy") {
			policies++
			where := fmt.Sprintf("%s: aws_appautoscaling_policy.%s", s.where(), b.Labels[1])
			if pt, _ := s.str(attr(b, "policy_type")); pt != "TargetTrackingScaling" {
				errs = append(errs, fmt.Errorf("%s: policy_type is %q, want TargetTrackingScaling", where, pt))
			}
			metric := ""
			for _, c := range nested(b, "target_tracking_scaling_policy_configuration") {
				for _, m := range nested(c, "predefined_metric_specification") {
					metric, _ = s.str(attr(m, "predefined_metric_type"))
				}
			}
			if metric != "ECSServiceAverageCPUUtilization" {
				errs = append(errs, fmt.Errorf("%s: tracks %q, want ECSServiceAverageCPUUtilization", where, metric))
			}
		}
	}
	for what, n := range map[string]int{"aws_ecs_task_definition": tasks, "aws_appautoscaling_target": targets, "aws_appautoscaling_policy": policies} {
		if n == 0 {
			errs = append(errs, fmt.Errorf("no %s in any stack", what))
		}
	}
	return errors.Join(errs...)
}

func hasString(v cty.Value, s string) bool {
	if v.IsNull() || !v.CanIterateElements() {
		return false
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type().Equals(cty.String) && !e.IsNull() && e.AsString() == s {
			return true
		}
	}
	return false
}
