package reconciler

import "errors"

// redactErr returns err with every known secret in its text replaced (Options.Redact), keeping its
// kind. Terraform's error text is untrusted: branch code can make it print anything it read.
func (r *Reconciler) redactErr(err error) error {
	if err == nil {
		return nil
	}
	text := r.opts.Redact(err.Error())
	if text == err.Error() {
		return err
	}
	return &Error{Kind: KindOf(err), Op: "redacted", Err: errors.New(text)}
}

// redactPlan replaces known secrets in everything of plan that people are shown or trueup keeps.
func (r *Reconciler) redactPlan(p *Plan) {
	if p == nil {
		return
	}
	p.Rendered = r.opts.Redact(p.Rendered)
	for i := range p.Changes {
		p.Changes[i].Address = r.opts.Redact(p.Changes[i].Address)
	}
	for i := range p.Drift {
		p.Drift[i].Address = r.opts.Redact(p.Drift[i].Address)
	}
}
