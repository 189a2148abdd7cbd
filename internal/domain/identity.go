package domain

import "time"

// Principal is an identity that signs requests: the root principal created
// on first start, or an IAM user.
type Principal struct {
	ID        int64
	Name      string // IAM user name; "root" for the root principal
	UserID    string // stable id (AIDA... for users)
	Path      string // IAM path, "/" by default
	Root      bool
	CreatedAt time.Time
}

// ARN returns the principal's ARN in the given account:
// arn:aws:iam::<account>:root or arn:aws:iam::<account>:user<path><name>.
func (p Principal) ARN(account string) string {
	if p.Root {
		return "arn:aws:iam::" + account + ":root"
	}
	path := p.Path
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":user" + path + p.Name
}

// AccessKey is a principal's access key pair.
type AccessKey struct {
	ID          string
	Secret      string
	PrincipalID int64
	Status      string // Active | Inactive
	CreatedAt   time.Time
}
