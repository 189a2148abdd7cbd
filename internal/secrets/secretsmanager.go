package secrets

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
)

// SecretsManager serves the Secrets Manager subset (X-Amz-Target
// "secretsmanager.<Op>", SigV4 signing name "secretsmanager"):
//
//	CreateSecret     Name, SecretString | SecretBinary, ClientRequestToken, Description, KmsKeyId, Tags
//	PutSecretValue   SecretId, SecretString | SecretBinary, ClientRequestToken, VersionStages
//	GetSecretValue   SecretId, VersionId, VersionStage
//	DeleteSecret     SecretId, RecoveryWindowInDays | ForceDeleteWithoutRecovery
//	ListSecrets      IncludePlannedDeletion, MaxResults, NextToken, Filters, SortOrder, SortBy
//
// Authorization asks for "secretsmanager:<Op>" on the secret's ARN
// ("arn:...:secret:<name>" before it exists; "*" for ListSecrets).
type SecretsManager struct {
	Store     *Store
	Authorize Authorize
}

// SecretsManagerTargetPrefix is the X-Amz-Target prefix Secrets Manager
// requests carry; the signing name is "secretsmanager".
const SecretsManagerTargetPrefix = "secretsmanager."

// Handle serves one Secrets Manager request; register it with
// server.HandleTarget.
func (a *SecretsManager) Handle(c echo.Context) error {
	var err error
	switch op := operation(c, SecretsManagerTargetPrefix); op {
	case "CreateSecret":
		err = a.createSecret(c)
	case "PutSecretValue":
		err = a.putSecretValue(c)
	case "GetSecretValue":
		err = a.getSecretValue(c)
	case "DeleteSecret":
		err = a.deleteSecret(c)
	case "ListSecrets":
		err = a.listSecrets(c)
	default:
		return &server.APIError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Msg: "operation " + op + " is not supported by this server's Secrets Manager subset"}
	}
	return smError(err)
}

// smError gives store errors Secrets Manager's exception names.
func smError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch domain.KindOf(err) {
	case domain.ErrNotFound:
		if rt, _ := domain.Resource(err); rt == "secret" {
			msg = "Secrets Manager can't find the specified secret."
		}
		return badRequest("ResourceNotFoundException", msg)
	case domain.ErrAlreadyExists:
		return badRequest("ResourceExistsException", msg)
	case domain.ErrInvalid:
		return badRequest("InvalidParameterException", msg)
	case domain.ErrConflict:
		return badRequest("InvalidRequestException", msg)
	}
	return err
}

// secretARN returns the ARN to authorize an operation on secret id: the
// stored secret's, or one built from the name when there is none.
func (a *SecretsManager) secretARN(ctx context.Context, id string) string {
	if r, err := a.Store.resolve(ctx, a.Store.db, id); err == nil {
		return r.arn
	}
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return "arn:aws:secretsmanager:" + a.Store.region + ":" + a.Store.account + ":secret:" + id
}

func requireID(id string) error {
	if id == "" {
		return badRequest("InvalidParameterException", "SecretId must be given.")
	}
	return nil
}

func (a *SecretsManager) createSecret(c echo.Context) error {
	var in struct {
		Name, ClientRequestToken, Description, KmsKeyId string
		SecretString                                    *string
		SecretBinary                                    []byte
		Tags                                            []Tag
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return badRequest("InvalidParameterException", "Name must be given.")
	}
	if err := a.Authorize(c, "secretsmanager:CreateSecret", a.secretARN(c.Request().Context(), in.Name)); err != nil {
		return err
	}
	v, err := a.Store.CreateSecret(c.Request().Context(), CreateSecretInput{Name: in.Name, Description: in.Description, KmsKeyID: in.KmsKeyId,
		Token: in.ClientRequestToken, String: in.SecretString, Binary: in.SecretBinary, Tags: in.Tags})
	if err != nil {
		return err
	}
	out := map[string]any{"ARN": v.ARN, "Name": v.Name}
	if v.VersionID != "" {
		out["VersionId"] = v.VersionID
	}
	return reply(c, out)
}

func (a *SecretsManager) putSecretValue(c echo.Context) error {
	var in struct {
		SecretId, ClientRequestToken string
		SecretString                 *string
		SecretBinary                 []byte
		VersionStages                []string
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireID(in.SecretId); err != nil {
		return err
	}
	if err := a.Authorize(c, "secretsmanager:PutSecretValue", a.secretARN(c.Request().Context(), in.SecretId)); err != nil {
		return err
	}
	v, err := a.Store.PutSecretValue(c.Request().Context(), PutSecretValueInput{SecretID: in.SecretId, Token: in.ClientRequestToken,
		String: in.SecretString, Binary: in.SecretBinary, Stages: in.VersionStages})
	if err != nil {
		return err
	}
	return reply(c, map[string]any{"ARN": v.ARN, "Name": v.Name, "VersionId": v.VersionID, "VersionStages": v.Stages})
}

func (a *SecretsManager) getSecretValue(c echo.Context) error {
	var in struct{ SecretId, VersionId, VersionStage string }
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireID(in.SecretId); err != nil {
		return err
	}
	if err := a.Authorize(c, "secretsmanager:GetSecretValue", a.secretARN(c.Request().Context(), in.SecretId)); err != nil {
		return err
	}
	v, err := a.Store.GetSecretValue(c.Request().Context(), in.SecretId, in.VersionId, in.VersionStage)
	if err != nil {
		return err
	}
	out := map[string]any{"ARN": v.ARN, "Name": v.Name, "VersionId": v.VersionID, "VersionStages": v.Stages, "CreatedDate": epoch(v.Created)}
	if v.IsBinary {
		out["SecretBinary"] = v.Binary // base64 in JSON
	} else {
		out["SecretString"] = v.String
	}
	return reply(c, out)
}

func (a *SecretsManager) deleteSecret(c echo.Context) error {
	var in struct {
		SecretId                   string
		RecoveryWindowInDays       int64
		ForceDeleteWithoutRecovery bool
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := requireID(in.SecretId); err != nil {
		return err
	}
	if err := a.Authorize(c, "secretsmanager:DeleteSecret", a.secretARN(c.Request().Context(), in.SecretId)); err != nil {
		return err
	}
	s, when, err := a.Store.DeleteSecret(c.Request().Context(), in.SecretId, in.RecoveryWindowInDays, in.ForceDeleteWithoutRecovery)
	if err != nil {
		return err
	}
	return reply(c, map[string]any{"ARN": s.ARN, "Name": s.Name, "DeletionDate": epoch(when)})
}

type wireSecretEntry struct {
	ARN                    string              `json:"ARN"`
	Name                   string              `json:"Name"`
	Description            string              `json:"Description,omitempty"`
	KmsKeyId               string              `json:"KmsKeyId,omitempty"`
	LastChangedDate        *epoch              `json:"LastChangedDate,omitempty"`
	LastAccessedDate       *epoch              `json:"LastAccessedDate,omitempty"`
	DeletedDate            *epoch              `json:"DeletedDate,omitempty"`
	CreatedDate            *epoch              `json:"CreatedDate,omitempty"`
	Tags                   []Tag               `json:"Tags,omitempty"`
	SecretVersionsToStages map[string][]string `json:"SecretVersionsToStages,omitempty"`
}

type filter struct {
	Key    string
	Values []string
}

// matches applies ListSecrets filters: every filter must match; a filter
// matches when any of its values is a prefix of the field (a value
// starting with "!" negates).
func matches(s Secret, filters []filter) bool {
	for _, f := range filters {
		var fields []string
		switch f.Key {
		case "name":
			fields = []string{s.Name}
		case "description":
			fields = []string{s.Description}
		case "tag-key":
			for _, t := range s.Tags {
				fields = append(fields, t.Key)
			}
		case "tag-value":
			for _, t := range s.Tags {
				fields = append(fields, t.Value)
			}
		case "all":
			fields = []string{s.Name, s.Description}
			for _, t := range s.Tags {
				fields = append(fields, t.Key, t.Value)
			}
		default:
			return false
		}
		any := false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			v = strings.TrimPrefix(v, "!")
			hit := false
			for _, x := range fields {
				hit = hit || strings.HasPrefix(x, v)
			}
			if hit != neg {
				any = true
			}
		}
		if !any {
			return false
		}
	}
	return true
}

func (a *SecretsManager) listSecrets(c echo.Context) error {
	var in struct {
		IncludePlannedDeletion bool
		MaxResults             int
		NextToken              string
		Filters                []filter
		SortOrder, SortBy      string
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := a.Authorize(c, "secretsmanager:ListSecrets", "*"); err != nil {
		return err
	}
	for _, f := range in.Filters {
		switch f.Key {
		case "name", "description", "tag-key", "tag-value", "all":
		default:
			return badRequest("InvalidParameterException", "Filter key "+strconv.Quote(f.Key)+" is not supported; use name, description, tag-key, tag-value or all.")
		}
	}
	if in.MaxResults == 0 {
		in.MaxResults = 100
	}
	if in.MaxResults < 1 || in.MaxResults > 100 {
		return badRequest("InvalidParameterException", "MaxResults must be between 1 and 100.")
	}
	all, err := a.Store.ListSecrets(c.Request().Context(), in.IncludePlannedDeletion)
	if err != nil {
		return err
	}
	var list []Secret
	for _, s := range all {
		if matches(s, in.Filters) {
			list = append(list, s)
		}
	}
	less := func(i, j int) bool { return list[i].Created.Before(list[j].Created) }
	switch in.SortBy {
	case "name":
		less = func(i, j int) bool { return list[i].Name < list[j].Name }
	case "last-changed-date":
		less = func(i, j int) bool { return list[i].Changed.Before(list[j].Changed) }
	case "last-accessed-date":
		less = func(i, j int) bool { return list[i].Accessed.Before(list[j].Accessed) }
	case "", "created-date":
	default:
		return badRequest("InvalidParameterException", "SortBy must be created-date, last-accessed-date, last-changed-date or name.")
	}
	sort.SliceStable(list, func(i, j int) bool {
		if in.SortOrder == "desc" {
			return less(j, i)
		}
		return less(i, j)
	})
	start := 0
	if in.NextToken != "" {
		n, err := strconv.Atoi(in.NextToken)
		if err != nil || n < 0 || n > len(list) {
			return badRequest("InvalidNextTokenException", "The NextToken value is not valid.")
		}
		start = n
	}
	end := min(start+in.MaxResults, len(list))
	entries := []wireSecretEntry{}
	for _, s := range list[start:end] {
		entries = append(entries, wireSecretEntry{ARN: s.ARN, Name: s.Name, Description: s.Description, KmsKeyId: s.KmsKeyID,
			LastChangedDate: timePtr(s.Changed), LastAccessedDate: timePtr(s.Accessed), DeletedDate: timePtr(s.Deleted),
			CreatedDate: timePtr(s.Created), Tags: s.Tags, SecretVersionsToStages: s.Versions})
	}
	out := map[string]any{"SecretList": entries}
	if end < len(list) {
		out["NextToken"] = strconv.Itoa(end)
	}
	return reply(c, out)
}
