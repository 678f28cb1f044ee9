package examples_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// checkEndpointsAndDetection: the VPC reaches S3 through a gateway endpoint and ECR, Logs and
// Secrets Manager through interface endpoints; GuardDuty and Security Hub are on.
func checkEndpointsAndDetection(r *tfRepo) error {
	var errs []error
	endpoints := map[string]string{} // service suffix -> endpoint type
	guardduty, securityhub := false, false
	for _, s := range r.scopes() {
		for _, b := range s.mod.all("resource", "aws_vpc_endpoint") {
			typ, _ := s.str(attr(b, "vpc_endpoint_type"))
			services, err := endpointServices(s, b)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: aws_vpc_endpoint.%s: %w", s.where(), b.Labels[1], err))
			}
			for _, svc := range services {
				endpoints[svc] = typ
			}
		}
		for _, b := range s.mod.all("resource", "aws_guardduty_detector") {
			v, err := s.eval(attr(b, "enable"))
			guardduty = guardduty || attr(b, "enable") == nil || (err == nil && v.Type().Equals(cty.Bool) && v.True())
		}
		securityhub = securityhub || len(s.mod.all("resource", "aws_securityhub_account")) > 0
	}
	want := map[string]string{"s3": "Gateway", "ecr.api": "Interface", "ecr.dkr": "Interface", "logs": "Interface", "secretsmanager": "Interface"}
	for _, svc := range slices.Sorted(maps.Keys(want)) {
		if got, ok := endpoints[svc]; !ok || got != want[svc] {
			errs = append(errs, fmt.Errorf("no %s VPC endpoint for %s (have %q)", want[svc], svc, got))
		}
	}
	if !guardduty {
		errs = append(errs, errors.New("no enabled aws_guardduty_detector in any stack"))
	}
	if !securityhub {
		errs = append(errs, errors.New("no aws_securityhub_account in any stack"))
	}
	return errors.Join(errs...)
}

// endpointServices returns the services an endpoint resource makes, by the last part of the
// service name: "com.amazonaws.${region}.s3" is "s3"; one ending in ${each.key} is every key of
// its for_each.
func endpointServices(s *scope, b *hclsyntax.Block) ([]string, error) {
	tmpl, ok := attr(b, "service_name").(*hclsyntax.TemplateExpr)
	if !ok || len(tmpl.Parts) == 0 {
		v, err := s.str(attr(b, "service_name"))
		if err != nil {
			return nil, err
		}
		return []string{v[strings.LastIndex(v, ".")+1:]}, nil
	}
	last := tmpl.Parts[len(tmpl.Parts)-1]
	if lit, ok := last.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type().Equals(cty.String) {
		v := lit.Val.AsString()
		return []string{strings.TrimPrefix(v, ".")}, nil
	}
	if st, ok := last.(*hclsyntax.ScopeTraversalExpr); ok && traversalString(st.Traversal) == "each.key" {
		fe, err := s.eval(attr(b, "for_each"))
		if err != nil {
			return nil, err
		}
		if fe.IsNull() || !fe.CanIterateElements() {
			return nil, fmt.Errorf("for_each at %s is not a collection", attr(b, "for_each").Range())
		}
		// each.key is a map's key, or a set's (or a literal list default's) element.
		byKey := fe.Type().IsMapType() || fe.Type().IsObjectType()
		var out []string
		for it := fe.ElementIterator(); it.Next(); {
			k, v := it.Element()
			if !byKey {
				k = v
			}
			if !k.Type().Equals(cty.String) || k.IsNull() {
				return nil, fmt.Errorf("for_each at %s has a key that is not a string", attr(b, "for_each").Range())
			}
			out = append(out, k.AsString())
		}
		return out, nil
	}
	return nil, fmt.Errorf("cannot tell the service from service_name at %s", attr(b, "service_name").Range())
}
