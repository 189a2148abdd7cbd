package secrets

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/artifactd/registry/internal/domain"
	"github.com/artifactd/registry/internal/server"
)

// SSM serves the Parameter Store subset of AWS Systems Manager
// (X-Amz-Target "AmazonSSM.<Op>", SigV4 signing name "ssm"):
//
//	PutParameter      Name, Value, Type, Overwrite, Description, KeyId, Tier, DataType
//	GetParameter      Name[:version], WithDecryption
//	GetParameters     Names (1-10), WithDecryption
//	DeleteParameter   Name
//
// Authorization asks for "ssm:<Op>" on the parameter's ARN.
type SSM struct {
	Store     *Store
	Authorize Authorize
}

// SSMTargetPrefix is the X-Amz-Target prefix SSM requests carry; the
// signing name is "ssm".
const SSMTargetPrefix = "AmazonSSM."

// Handle serves one SSM request; register it with server.HandleTarget.
func (a *SSM) Handle(c echo.Context) error {
	var err error
	switch op := operation(c, SSMTargetPrefix); op {
	case "PutParameter":
		err = a.putParameter(c)
	case "GetParameter":
		err = a.getParameter(c)
	case "GetParameters":
		err = a.getParameters(c)
	case "DeleteParameter":
		err = a.deleteParameter(c)
	default:
		return &server.APIError{Status: http.StatusBadRequest, Code: "UnknownOperationException", Msg: "operation " + op + " is not supported by this server's SSM subset"}
	}
	return ssmError(err)
}

// ssmError gives store errors SSM's exception names.
func ssmError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch domain.KindOf(err) {
	case domain.ErrNotFound:
		if rt, _ := domain.Resource(err); rt == "parameter-version" {
			return badRequest("ParameterVersionNotFound", msg)
		}
		return badRequest("ParameterNotFound", msg)
	case domain.ErrAlreadyExists:
		return badRequest("ParameterAlreadyExists", msg)
	case domain.ErrInvalid:
		return badRequest("ValidationException", msg)
	case domain.ErrQuotaExceeded:
		return badRequest("HierarchyLevelLimitExceededException", msg)
	}
	return err
}

func (a *SSM) authorize(c echo.Context, op, name string) error {
	name, _, _ = strings.Cut(name, ":")
	return a.Authorize(c, "ssm:"+op, a.Store.ParameterARN(name))
}

func (a *SSM) putParameter(c echo.Context) error {
	var in struct {
		Name, Value, Type, Description, KeyId, Tier, DataType, AllowedPattern string
		Overwrite                                                             bool
		Tags                                                                  []Tag
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return badRequest("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := a.authorize(c, "PutParameter", in.Name); err != nil {
		return err
	}
	if in.Overwrite && len(in.Tags) > 0 {
		return badRequest("ValidationException", "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.")
	}
	p, _ := server.CallerOf(c)
	v, err := a.Store.PutParameter(c.Request().Context(), PutParameterInput{Name: in.Name, Type: in.Type, Value: in.Value,
		Description: in.Description, DataType: in.DataType, KeyID: in.KeyId, Tier: in.Tier, Overwrite: in.Overwrite, By: p.Name})
	if err != nil {
		return err
	}
	tier := in.Tier
	if tier == "" || tier == "Intelligent-Tiering" {
		tier = "Standard"
	}
	return reply(c, map[string]any{"Version": v, "Tier": tier})
}

type wireParameter struct {
	Name             string `json:"Name"`
	Type             string `json:"Type"`
	Value            string `json:"Value"`
	Version          int64  `json:"Version"`
	Selector         string `json:"Selector,omitempty"`
	LastModifiedDate *epoch `json:"LastModifiedDate,omitempty"`
	ARN              string `json:"ARN"`
	DataType         string `json:"DataType"`
}

func toWire(p Parameter, decrypt bool, selector string) wireParameter {
	w := wireParameter{Name: p.Name, Type: p.Type, Value: p.Value, Version: p.Version, LastModifiedDate: timePtr(p.LastModified), ARN: p.ARN, DataType: p.DataType}
	if selector != "" {
		w.Selector = ":" + selector
	}
	if p.Type == TypeSecureString && !decrypt {
		// SSM returns the ciphertext; so do we (never the plaintext).
		w.Value = base64.StdEncoding.EncodeToString(p.Sealed)
	}
	return w
}

func (a *SSM) getParameter(c echo.Context) error {
	var in struct {
		Name           string
		WithDecryption bool
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if in.Name == "" {
		return badRequest("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := a.authorize(c, "GetParameter", in.Name); err != nil {
		return err
	}
	p, err := a.Store.GetParameter(c.Request().Context(), in.Name)
	if err != nil {
		return err
	}
	_, sel, _ := strings.Cut(in.Name, ":")
	return reply(c, map[string]any{"Parameter": toWire(p, in.WithDecryption, sel)})
}

func (a *SSM) getParameters(c echo.Context) error {
	var in struct {
		Names          []string
		WithDecryption bool
	}
	if err := decode(c, &in); err != nil {
		return err
	}
	if len(in.Names) < 1 || len(in.Names) > 10 {
		return badRequest("ValidationException", "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to 10 and greater than or equal to 1")
	}
	params := []wireParameter{}
	var invalid []string
	for _, n := range in.Names {
		if err := a.authorize(c, "GetParameters", n); err != nil {
			return err
		}
		p, err := a.Store.GetParameter(c.Request().Context(), n)
		if errors.Is(err, domain.ErrNotFound) {
			invalid = append(invalid, n)
			continue
		}
		if err != nil {
			return err
		}
		_, sel, _ := strings.Cut(n, ":")
		params = append(params, toWire(p, in.WithDecryption, sel))
	}
	out := map[string]any{"Parameters": params}
	if len(invalid) > 0 {
		out["InvalidParameters"] = invalid
	}
	return reply(c, out)
}

func (a *SSM) deleteParameter(c echo.Context) error {
	var in struct{ Name string }
	if err := decode(c, &in); err != nil {
		return err
	}
	if err := a.authorize(c, "DeleteParameter", in.Name); err != nil {
		return err
	}
	if err := a.Store.DeleteParameter(c.Request().Context(), in.Name); err != nil {
		return err
	}
	return reply(c, struct{}{})
}
