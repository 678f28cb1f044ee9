package notifier

import (
	"fmt"

	"github.com/trueup/trueup/reconciler"
)

// Named is implemented by notifiers that have a short name for logs and errors ("log", "slack").
type Named interface {
	Name() string
}

// NameOf returns n's Name when it has one, and its Go type otherwise.
func NameOf(n reconciler.Notifier) string {
	if nn, ok := n.(Named); ok {
		return nn.Name()
	}
	return fmt.Sprintf("%T", n)
}
