package reconciler

import "context"

// Commenter is who wrote a pull request comment.
type Commenter struct {
	// Login is the user name people see (GitHub login, GitLab username).
	Login string
	// ID is the forge's numeric user id (GitLab reads access levels by it); 0 when unknown.
	ID int64
}

// PullComment is one comment on a pull request, as the forge's API shows it.
type PullComment struct {
	ID     int64
	Author Commenter
	Body   string
	// Own is true for comments trueup itself wrote (they are never commands).
	Own bool
}

// Commander is what comment commands need of the code host. The webhook only says that a comment
// was made: the comment and its author's permission are read here, from the API.
type Commander interface {
	// PullComment reads comment id of pull request pr; a missing one is ErrNotFound.
	PullComment(ctx context.Context, pr int, id int64) (PullComment, error)
	// CanWrite reports whether who may push to the repository (GitHub: collaborator permission
	// write, maintain or admin; GitLab: Developer access or above). Someone without access is
	// false, not an error.
	CanWrite(ctx context.Context, who Commenter) (bool, error)
	// Reply posts a new comment on pull request pr.
	Reply(ctx context.Context, pr int, body string) error
	// Answered reports whether trueup itself already wrote a comment on pull request pr that starts
	// with prefix (an answer's marker), so a command is answered once also across restarts.
	Answered(ctx context.Context, pr int, prefix string) (bool, error)
	// PullRef is how people refer to pull request pr on the forge: "#12" on GitHub, "!12" on GitLab.
	PullRef(pr int) string
}
