package domain

// Failure codes of the batch version operations (PackageVersionErrorCode).
const (
	CodeAlreadyExists      = "ALREADY_EXISTS"
	CodeMismatchedRevision = "MISMATCHED_REVISION"
	CodeMismatchedStatus   = "MISMATCHED_STATUS"
	CodeNotAllowed         = "NOT_ALLOWED"
	CodeNotFound           = "NOT_FOUND"
	CodeSkipped            = "SKIPPED"
)

// Listed reports whether a version in status s appears in client version
// lists (packuments, simple indexes, maven-metadata.xml).
func (s Status) Listed() bool { return s == StatusPublished }

// Downloadable reports whether a version's assets may be fetched by clients.
// Unlisted versions stay downloadable so exact pins keep working.
func (s Status) Downloadable() bool { return s == StatusPublished || s == StatusUnlisted }

// ValidTargetStatus reports whether UpdatePackageVersionsStatus may set s.
func ValidTargetStatus(s Status) bool {
	return s == StatusPublished || s == StatusUnlisted || s == StatusArchived
}

// ValidStatus reports whether s is one of the known statuses.
func ValidStatus(s Status) bool {
	for _, k := range Statuses {
		if s == k {
			return true
		}
	}
	return false
}

// CanTransition reports whether a version in status from may be moved to
// status to by UpdatePackageVersionsStatus, and the failure code if not.
// A Disposed version can only be deleted; nothing returns to Unfinished.
func CanTransition(from, to Status) (ok bool, code string) {
	if !ValidTargetStatus(to) {
		return false, CodeNotAllowed
	}
	if from == StatusDisposed || from == StatusDeleted {
		return false, CodeNotAllowed
	}
	return true, ""
}

// CanDispose reports whether a version in status from may be disposed.
func CanDispose(from Status) (ok bool, code string) {
	if from == StatusDeleted {
		return false, CodeNotFound
	}
	return true, ""
}
